import type { Alert, AlertLevel, AlertStatus } from '../core/schemas/alert.js';
import { openDb, type Db } from '../core/sqlite.js';
import type { LatestVitals } from './rules/latest-vitals.js';
import type { Weighing } from './rules/weight-trend.js';

export interface AlertQuery {
  dongs: readonly string[] | null; // null = every dong
  status?: AlertStatus;
  level?: AlertLevel;
  dong?: string;
  residentId?: string;
  limit: number;
  before?: number;
}

/** What the rules remember of a resident besides the last activity (all of it needed after a restart). */
export interface ResidentMemory {
  enabledSince?: number; // escalation timeouts of a re-enabled resident start here
  vitals?: LatestVitals; // for NEWS2 and the fever rule
  weights?: Weighing[]; // the last 3 days, for the weight trend
  normalStreak?: Record<string, number>; // rule → normal readings in a row while its alert is not recovered
  pending?: Record<string, number>; // rule → when a warning awaiting confirmation was seen
}

export interface ResidentActivityRow {
  residentId: string;
  lastActivityAt: number;
  missedFiredFor: number | null; // lastActivityAt for which missed_checkin already fired
  memory?: ResidentMemory;
}

export interface DeviceStateRow {
  deviceId: string;
  residentId: string;
  lastSeenAt: number;
  /** Silence counts from here: lastSeenAt, moved later by the platform's own downtime and fresh windows. */
  silenceFrom: number;
  offlineFiredFor: number | null; // lastSeenAt for which device_offline already fired
  levels: Record<string, number>; // last power / illuminance / step value, by reading type
}

/** One unit of the engine's work, stored in one transaction. */
export interface StoreCommit {
  alerts?: readonly (Omit<Alert, 'seq'> | Alert)[];
  residents?: Iterable<ResidentActivityRow>;
  /** Iterated inside the transaction: a first start writes 300,000 rows, which need not exist all at once. */
  devices?: Iterable<DeviceStateRow>;
  /** The highest outbox id whose effects this commit makes durable (never moves back). */
  cursor?: number;
  /** The engine was running at this time (after a restart, the downtime is measured from it). */
  aliveAt?: number;
}

/** Alerts and their history, durable before anyone is told (DESIGN §2 invariant 3). */
export interface AlertStore {
  /** Assigns the next seq and stores the alert in one transaction. */
  save(alert: Omit<Alert, 'seq'> | Alert): Alert;
  /** Assigns seqs in order and stores alerts, state and cursor in one transaction; returns the stored alerts. */
  commit(unit: StoreCommit): Alert[];
  get(id: string): Alert | undefined;
  unresolved(): Alert[];
  list(query: AlertQuery): { alerts: Alert[]; next: number | null };
  changedSince(seq: number, dongs: readonly string[] | null, limit: number): Alert[];
  lastSeq(): number;
  /** Streamed: 100,000 residents need not exist as rows all at once. */
  loadActivity(): Iterable<ResidentActivityRow>;
  /** One resident's last activity as last flushed (the console of a split reads it here, not from the engine). */
  lastActivityOf(residentId: string): number | undefined;
  saveActivity(rows: readonly ResidentActivityRow[]): void;
  /** Streamed, like loadActivity. */
  loadDevices(): Iterable<DeviceStateRow>;
  /** The replay cursor last committed (0 when none). */
  cursor(): number;
  /** The last `aliveAt` committed, if any. */
  aliveAt(): number | undefined;
  close(): void;
}

interface AlertRow { n: number; body: string }

export function openAlertStore(file: string): AlertStore {
  const db: Db = openDb(file);
  db.exec(`
    CREATE TABLE IF NOT EXISTS alerts (
      n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL,
      dong TEXT NOT NULL, status TEXT NOT NULL, level TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS alerts_seq ON alerts(seq);
    CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status, n);
    -- An index on an expression: a resident's alerts without a column to migrate.
    CREATE INDEX IF NOT EXISTS alerts_resident ON alerts(json_extract(body, '$.residentId'), n);
    CREATE TABLE IF NOT EXISTS activity (
      resident_id TEXT PRIMARY KEY, last_activity_at INTEGER NOT NULL, missed_fired_for INTEGER);
    CREATE TABLE IF NOT EXISTS device_state (
      device_id TEXT PRIMARY KEY, resident_id TEXT NOT NULL, last_seen_at INTEGER NOT NULL, silence_from INTEGER NOT NULL, offline_fired_for INTEGER, levels TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `);
  // Stores from before the rules had memory: add the column in place.
  const activityColumns = db.prepare<[], { name: string }>('PRAGMA table_info(activity)').all().map((c) => c.name);
  if (!activityColumns.includes('memory')) db.exec('ALTER TABLE activity ADD COLUMN memory TEXT');

  const maxSeq = db.prepare<[], { s: number }>('SELECT COALESCE(MAX(seq), 0) AS s FROM alerts');
  let seq = maxSeq.get()!.s;
  const upsert = db.prepare(`
    INSERT INTO alerts (id, seq, dong, status, level, body) VALUES (@id, @seq, @dong, @status, @level, @body)
    ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, dong = excluded.dong, status = excluded.status,
      level = excluded.level, body = excluded.body`);
  const byId = db.prepare<[string], AlertRow>('SELECT n, body FROM alerts WHERE id = ?');
  const unresolved = db.prepare<[], AlertRow>("SELECT n, body FROM alerts WHERE status != 'resolved' ORDER BY n");
  const lastActivityOf = db.prepare<[string], { last_activity_at: number }>('SELECT last_activity_at FROM activity WHERE resident_id = ?');
  const upsertActivity = db.prepare(`
    INSERT INTO activity (resident_id, last_activity_at, missed_fired_for, memory) VALUES (?, ?, ?, ?)
    ON CONFLICT(resident_id) DO UPDATE SET last_activity_at = excluded.last_activity_at,
      missed_fired_for = excluded.missed_fired_for, memory = excluded.memory`);
  const upsertDevice = db.prepare(`
    INSERT INTO device_state (device_id, resident_id, last_seen_at, silence_from, offline_fired_for, levels) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT(device_id) DO UPDATE SET resident_id = excluded.resident_id, last_seen_at = excluded.last_seen_at, silence_from = excluded.silence_from,
      offline_fired_for = excluded.offline_fired_for, levels = excluded.levels`);
  const upsertAlive = db.prepare("INSERT INTO meta (key, value) VALUES ('alive_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  let aliveAt = (db.prepare("SELECT value FROM meta WHERE key = 'alive_at'").get() as { value: number } | undefined)?.value;
  const upsertCursor = db.prepare(`
    INSERT INTO meta (key, value) VALUES ('cursor', ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)`);
  let cursor = (db.prepare("SELECT COALESCE(MAX(value), 0) AS c FROM meta WHERE key = 'cursor'").get() as { c: number }).c;
  const parse = (row: AlertRow) => JSON.parse(row.body) as Alert;
  const commitTx = db.transaction((alerts: readonly Alert[], unit: StoreCommit) => {
    for (const alert of alerts) {
      upsert.run({ id: alert.id, seq: alert.seq, dong: alert.dong, status: alert.status, level: alert.level, body: JSON.stringify(alert) });
    }
    for (const r of unit.residents ?? []) {
      upsertActivity.run(r.residentId, r.lastActivityAt, r.missedFiredFor, r.memory ? JSON.stringify(r.memory) : null);
    }
    for (const d of unit.devices ?? []) upsertDevice.run(d.deviceId, d.residentId, d.lastSeenAt, d.silenceFrom, d.offlineFiredFor, JSON.stringify(d.levels));
    if (unit.cursor !== undefined && unit.cursor > cursor) upsertCursor.run(unit.cursor);
    if (unit.aliveAt !== undefined) upsertAlive.run(unit.aliveAt);
  });
  function commit(unit: StoreCommit): Alert[] {
    const alerts = (unit.alerts ?? []).map((a, i) => ({ ...a, seq: seq + 1 + i }) as Alert);
    commitTx(alerts, unit);
    // Only after the commit succeeded.
    if (alerts.length > 0) seq = alerts[alerts.length - 1]!.seq;
    if (unit.cursor !== undefined && unit.cursor > cursor) cursor = unit.cursor;
    if (unit.aliveAt !== undefined) aliveAt = unit.aliveAt;
    return alerts;
  }

  // Each optional filter of AlertQuery and the SQL it compares with (the expression has an index).
  const equalityFilters = [
    ['status', 'status'],
    ['level', 'level'],
    ['dong', 'dong'],
    ['residentId', "json_extract(body, '$.residentId')"],
  ] as const;

  function where(q: Pick<AlertQuery, 'dongs' | 'status' | 'level' | 'dong' | 'residentId'>, extra: string[], params: unknown[]) {
    const clauses = [...extra];
    if (q.dongs) {
      clauses.push(`dong IN (${q.dongs.map(() => '?').join(',') || "''"})`);
      params.push(...q.dongs);
    }
    for (const [key, sql] of equalityFilters) {
      if (!q[key]) continue; // an empty `?dong=` filters nothing, as before
      clauses.push(`${sql} = ?`);
      params.push(q[key]);
    }
    return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  }

  return {
    save: (alert) => commit({ alerts: [alert] })[0]!,
    commit,
    get: (id) => {
      const row = byId.get(id);
      return row ? parse(row) : undefined;
    },
    unresolved: () => unresolved.all().map(parse),
    list(q) {
      const params: unknown[] = [];
      const extra = q.status ? [] : ["status != 'resolved'"];
      if (q.before !== undefined) {
        extra.push('n < ?');
        params.push(q.before);
      }
      const sql = `SELECT n, body FROM alerts ${where(q, extra, params)} ORDER BY n DESC LIMIT ?`;
      const rows = db.prepare<unknown[], AlertRow>(sql).all(...params, q.limit + 1);
      const page = rows.slice(0, q.limit);
      return { alerts: page.map(parse), next: rows.length > q.limit ? page[page.length - 1]!.n : null };
    },
    changedSince(since, dongs, limit) {
      const params: unknown[] = [since];
      const sql = `SELECT n, body FROM alerts ${where({ dongs }, ['seq > ?'], params)} ORDER BY seq LIMIT ?`;
      return db.prepare<unknown[], AlertRow>(sql).all(...params, limit).map(parse);
    },
    // From the file, not `seq`: the console of a split reads a store that another process writes.
    lastSeq: () => maxSeq.get()!.s,
    lastActivityOf(residentId) {
      return lastActivityOf.get(residentId)?.last_activity_at;
    },
    *loadActivity() {
      const rows = db.prepare('SELECT resident_id, last_activity_at, missed_fired_for, memory FROM activity').iterate() as IterableIterator<{
        resident_id: string; last_activity_at: number; missed_fired_for: number | null; memory: string | null;
      }>;
      for (const r of rows) {
        yield {
          residentId: r.resident_id,
          lastActivityAt: r.last_activity_at,
          missedFiredFor: r.missed_fired_for,
          ...(r.memory ? { memory: JSON.parse(r.memory) as ResidentMemory } : {}),
        };
      }
    },
    saveActivity: (rows) => void commit({ residents: rows }),
    *loadDevices() {
      const rows = db.prepare('SELECT device_id, resident_id, last_seen_at, silence_from, offline_fired_for, levels FROM device_state').iterate() as IterableIterator<{
        device_id: string; resident_id: string; last_seen_at: number; silence_from: number; offline_fired_for: number | null; levels: string;
      }>;
      for (const d of rows) {
        yield { deviceId: d.device_id, residentId: d.resident_id, lastSeenAt: d.last_seen_at, silenceFrom: d.silence_from, offlineFiredFor: d.offline_fired_for, levels: JSON.parse(d.levels) as Record<string, number> };
      }
    },
    cursor: () => cursor,
    aliveAt: () => aliveAt,
    close: () => db.close(),
  };
}
