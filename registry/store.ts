import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { PlatformError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import {
  defaultOfflineMinutes,
  DeviceInputSchema,
  ResidentInputSchema,
  StaffInputSchema,
  StaffPatchSchema,
  type Device,
  type DeviceInput,
  type DeviceKind,
  type Resident,
  type ResidentInput,
  type Role,
  type Staff,
  type StaffInput,
  type StaffPatch,
} from '../core/schemas/registry.js';
import { DEVICE_SECRET_COST, hashSecret, newSecret, tokenDigest, verifySecret } from '../core/secrets.js';
import { openDb, type Db } from '../core/sqlite.js';

const SESSION_TTL_MS = 12 * 3_600_000; // one shift

const SCHEMA = `
CREATE TABLE IF NOT EXISTS residents (
  id TEXT PRIMARY KEY, dong TEXT NOT NULL, body TEXT NOT NULL, enabled INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS residents_dong ON residents(dong);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, resident_id TEXT NOT NULL REFERENCES residents(id), kind TEXT NOT NULL,
  offline_after_minutes REAL NOT NULL, enabled INTEGER NOT NULL, secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS devices_resident ON devices(resident_id);
CREATE TABLE IF NOT EXISTS staff (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, role TEXT NOT NULL,
  dongs TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  digest TEXT PRIMARY KEY, staff_id TEXT NOT NULL REFERENCES staff(id), expires_at INTEGER NOT NULL);
`;

interface ResidentRow { id: string; dong: string; body: string; enabled: number; created_at: number; updated_at: number }
interface DeviceRow {
  id: string; resident_id: string; dong: string; kind: string; offline_after_minutes: number;
  enabled: number; resident_enabled: number; secret_hash: string; created_at: number;
}
interface StaffRow { id: string; username: string; display_name: string; role: string; dongs: string; password_hash: string }

/** Residents, devices and staff: the only place personal data lives (CONTRACT §6). */
export interface Registry {
  createResident(input: ResidentInput): Resident;
  updateResident(id: string, patch: Partial<Omit<ResidentInput, 'id'>>): Resident;
  getResident(id: string): Resident | undefined;
  listResidents(dongs?: readonly string[]): Resident[];
  /**
   * Every resident, one at a time: at 100,000 residents a list costs ~140 MB of
   * short-lived objects at once, an iteration lets each die young (bench/memory.ts).
   * Run no other registry query until the iteration ends.
   */
  eachResident(): IterableIterator<Resident>;
  /** Every device, one at a time (as eachResident). */
  eachDevice(): IterableIterator<Device>;
  createDevice(input: DeviceInput): Promise<{ device: Device; secret: string }>;
  updateDevice(id: string, patch: { enabled?: boolean; offlineAfterMinutes?: number }): Device;
  getDevice(id: string): Device | undefined;
  /** The devices of one resident, or all devices. */
  listDevices(residentId?: string): Device[];
  /** The device if its secret matches and it and its resident are enabled. */
  authenticateDevice(id: string, secret: string): Promise<Device | undefined>;
  createStaff(input: StaffInput): Promise<Staff>;
  getStaff(username: string): Staff | undefined;
  listStaff(): Staff[];
  /** A new password ends every session of that staff member. */
  updateStaff(username: string, patch: StaffPatch): Promise<Staff>;
  verifyStaff(username: string, password: string): Promise<Staff | undefined>;
  hasAdmin(): boolean;
  createSession(staffId: string): string;
  staffForSession(token: string): Staff | undefined;
  deleteSession(token: string): void;
  close(): void;
}

export function openRegistry(file: string, deps: { bus: Bus; clock: Clock }): Registry {
  const db: Db = openDb(file);
  db.exec(SCHEMA);
  const { bus, clock } = deps;

  const q = {
    insertResident: db.prepare('INSERT INTO residents (id, dong, body, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    updateResident: db.prepare('UPDATE residents SET dong = ?, body = ?, enabled = ?, updated_at = ? WHERE id = ?'),
    resident: db.prepare<[string], ResidentRow>('SELECT * FROM residents WHERE id = ?'),
    allResidents: db.prepare<[], ResidentRow>('SELECT * FROM residents ORDER BY id'),
    insertDevice: db.prepare(
      'INSERT INTO devices (id, resident_id, kind, offline_after_minutes, enabled, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateDevice: db.prepare('UPDATE devices SET offline_after_minutes = ?, enabled = ? WHERE id = ?'),
    device: db.prepare<[string], DeviceRow>(
      `SELECT d.*, r.dong AS dong, r.enabled AS resident_enabled FROM devices d JOIN residents r ON r.id = d.resident_id WHERE d.id = ?`,
    ),
    allDevices: db.prepare<[], DeviceRow>(
      `SELECT d.*, r.dong AS dong, r.enabled AS resident_enabled FROM devices d JOIN residents r ON r.id = d.resident_id ORDER BY d.resident_id, d.id`,
    ),
    devicesOf: db.prepare<[string], DeviceRow>(
      `SELECT d.*, r.dong AS dong, r.enabled AS resident_enabled FROM devices d JOIN residents r ON r.id = d.resident_id WHERE d.resident_id = ? ORDER BY d.id`,
    ),
    insertStaff: db.prepare('INSERT INTO staff (id, username, display_name, role, dongs, password_hash) VALUES (?, ?, ?, ?, ?, ?)'),
    staffByName: db.prepare<[string], StaffRow>('SELECT * FROM staff WHERE username = ?'),
    allStaff: db.prepare<[], StaffRow>('SELECT * FROM staff ORDER BY username'),
    updateStaff: db.prepare('UPDATE staff SET display_name = ?, role = ?, dongs = ?, password_hash = ? WHERE id = ?'),
    deleteSessionsOf: db.prepare('DELETE FROM sessions WHERE staff_id = ?'),
    anyAdmin: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM staff WHERE role = 'admin'"),
    insertSession: db.prepare('INSERT INTO sessions (digest, staff_id, expires_at) VALUES (?, ?, ?)'),
    session: db.prepare<[string, number], StaffRow>(
      'SELECT s.* FROM sessions x JOIN staff s ON s.id = x.staff_id WHERE x.digest = ? AND x.expires_at > ?',
    ),
    deleteSession: db.prepare('DELETE FROM sessions WHERE digest = ?'),
    purgeSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
  };

  // Object.assign onto the parsed body, not `{ ...JSON.parse(body), id }`: V8 gives each such spread copy
  // its own hidden class, allocated in old space (~1 KB a resident, ~110 MB of garbage for 100,000 at start).
  const toResident = (row: ResidentRow): Resident =>
    Object.assign(JSON.parse(row.body) as Omit<Resident, 'id' | 'createdAt' | 'updatedAt' | 'enabled' | 'dong'>, {
      id: row.id,
      dong: row.dong,
      enabled: row.enabled === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    });
  const toDevice = (row: DeviceRow): Device => ({
    id: row.id,
    residentId: row.resident_id,
    dong: row.dong,
    kind: row.kind as DeviceKind,
    offlineAfterMinutes: row.offline_after_minutes,
    enabled: row.enabled === 1,
    createdAt: row.created_at,
  });
  const toStaff = (row: StaffRow): Staff => ({
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role as Role,
    dongs: JSON.parse(row.dongs) as string[],
  });
  const bodyOf = (r: Omit<Resident, 'id' | 'createdAt' | 'updatedAt'>) => {
    const { dong: _dong, enabled: _enabled, ...body } = r;
    return JSON.stringify(body);
  };

  return {
    createResident(input) {
      const r = ResidentInputSchema.parse(input);
      const id = r.id ?? newId('r');
      if (q.resident.get(id)) throw new PlatformError('conflict', `resident ${id} exists already`, 'id');
      const now = clock.now();
      q.insertResident.run(id, r.dong, bodyOf(r), r.enabled ? 1 : 0, now, now);
      const resident = toResident(q.resident.get(id)!);
      bus.publish('resident', resident);
      return resident;
    },
    updateResident(id, patch) {
      const current = q.resident.get(id);
      if (!current) throw new PlatformError('not_found', `no resident ${id}`);
      const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = toResident(current);
      const next = ResidentInputSchema.parse({ ...rest, ...patch });
      q.updateResident.run(next.dong, bodyOf(next), next.enabled ? 1 : 0, clock.now(), id);
      const resident = toResident(q.resident.get(id)!);
      bus.publish('resident', resident);
      return resident;
    },
    getResident: (id) => {
      const row = q.resident.get(id);
      return row ? toResident(row) : undefined;
    },
    listResidents(dongs) {
      const all = q.allResidents.all().map(toResident);
      if (!dongs || dongs.includes('*')) return all;
      return all.filter((r) => dongs.includes(r.dong));
    },
    async createDevice(input) {
      const d = DeviceInputSchema.parse(input);
      if (!q.resident.get(d.residentId)) throw new PlatformError('not_found', `no resident ${d.residentId}`, 'residentId');
      const id = d.id ?? newId('d');
      if (q.device.get(id)) throw new PlatformError('conflict', `device ${id} exists already`, 'id');
      const secret = newSecret();
      const hash = await hashSecret(secret, DEVICE_SECRET_COST);
      q.insertDevice.run(id, d.residentId, d.kind, d.offlineAfterMinutes ?? defaultOfflineMinutes[d.kind], d.enabled ? 1 : 0, hash, clock.now());
      const device = toDevice(q.device.get(id)!);
      bus.publish('device', device);
      return { device, secret };
    },
    updateDevice(id, patch) {
      const row = q.device.get(id);
      if (!row) throw new PlatformError('not_found', `no device ${id}`);
      q.updateDevice.run(patch.offlineAfterMinutes ?? row.offline_after_minutes, (patch.enabled ?? row.enabled === 1) ? 1 : 0, id);
      const device = toDevice(q.device.get(id)!);
      bus.publish('device', device);
      return device;
    },
    getDevice: (id) => {
      const row = q.device.get(id);
      return row ? toDevice(row) : undefined;
    },
    *eachResident() {
      for (const row of q.allResidents.iterate()) yield toResident(row);
    },
    *eachDevice() {
      for (const row of q.allDevices.iterate()) yield toDevice(row);
    },
    listDevices: (residentId) => (residentId === undefined ? q.allDevices.all() : q.devicesOf.all(residentId)).map(toDevice),
    async authenticateDevice(id, secret) {
      const row = q.device.get(id);
      if (!row || row.enabled !== 1 || row.resident_enabled !== 1) return undefined;
      return (await verifySecret(secret, row.secret_hash)) ? toDevice(row) : undefined;
    },
    async createStaff(input) {
      const s = StaffInputSchema.parse(input);
      if (q.staffByName.get(s.username)) throw new PlatformError('conflict', `staff ${s.username} exists already`, 'username');
      const id = newId('s');
      q.insertStaff.run(id, s.username, s.displayName, s.role, JSON.stringify(s.dongs), await hashSecret(s.password));
      return toStaff(q.staffByName.get(s.username)!);
    },
    getStaff: (username) => {
      const row = q.staffByName.get(username);
      return row ? toStaff(row) : undefined;
    },
    listStaff: () => q.allStaff.all().map(toStaff),
    async updateStaff(username, patch) {
      const p = StaffPatchSchema.parse(patch);
      const row = q.staffByName.get(username);
      if (!row) throw new PlatformError('not_found', `no staff ${username}`);
      const hash = p.password === undefined ? row.password_hash : await hashSecret(p.password);
      const current = q.staffByName.get(username); // re-read: hashing yielded the event loop
      if (!current) throw new PlatformError('not_found', `no staff ${username}`);
      db.transaction(() => {
        q.updateStaff.run(p.displayName ?? current.display_name, p.role ?? current.role, p.dongs ? JSON.stringify(p.dongs) : current.dongs, hash, current.id);
        if (p.password !== undefined) q.deleteSessionsOf.run(current.id);
      })();
      const staff = toStaff(q.staffByName.get(username)!);
      bus.publish('staff', staff);
      return staff;
    },
    async verifyStaff(username, password) {
      const row = q.staffByName.get(username);
      // Hash anyway when the user is unknown, so timing does not reveal which usernames exist.
      const ok = await verifySecret(password, row?.password_hash ?? UNKNOWN_USER_HASH);
      return row && ok ? toStaff(row) : undefined;
    },
    hasAdmin: () => q.anyAdmin.get()!.n > 0,
    createSession(staffId) {
      const token = newSecret();
      q.purgeSessions.run(clock.now());
      q.insertSession.run(tokenDigest(token), staffId, clock.now() + SESSION_TTL_MS);
      return token;
    },
    staffForSession(token) {
      const row = q.session.get(tokenDigest(token), clock.now());
      return row ? toStaff(row) : undefined;
    },
    deleteSession: (token) => void q.deleteSession.run(tokenDigest(token)),
    close: () => db.close(),
  };
}

// A valid hash of a random password, verified against when the username is unknown.
const UNKNOWN_USER_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
