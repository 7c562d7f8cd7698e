import { closeSync, fchmodSync, openSync, readFileSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { deviceKinds, type DeviceKind } from '../core/schemas/registry.js';
import type { AdminApi } from './admin-api.js';
import { mapConcurrent } from './concurrency.js';
import { between, pick, streamOf } from './random.js';

export interface SimDevice {
  id: string;
  secret: string;
  kind: DeviceKind;
}

/** A provisioned home: its resident, the scenario it plays (none for load homes) and its devices with their secrets. */
export interface Home {
  residentId: string;
  displayName: string;
  dong: string;
  scenario: string | null;
  devices: SimDevice[];
}

export interface HomeRequest {
  scenario: string | null;
  devices: readonly DeviceKind[];
  inactivityHours?: number;
}

const FAMILY = ['김', '이', '박', '최', '정', '강', '조', '윤', '장', '임', '한', '오'];
const GIVEN = ['영자', '순자', '정자', '옥순', '말순', '영수', '정호', '춘자', '복남', '길자', '상철', '금례'];

// A few requests in flight keep the platform's scrypt hashing busy on both cores
// without queueing thousands of sockets; 2,000 devices take seconds, not minutes.
const PROVISION_CONCURRENCY = 8;

/**
 * Registers the residents, then their devices, through the admin API (CONTRACT §6),
 * a few requests at a time. Names and birth years come from the seed.
 */
export async function provisionHomes(
  api: AdminApi,
  request: { dong: string; seed: number; homes: readonly HomeRequest[]; onProgress?: (done: number, total: number) => void },
): Promise<Home[]> {
  const total = request.homes.reduce((n, h) => n + 1 + h.devices.length, 0);
  let done = 0;
  const step = () => request.onProgress?.(++done, total);
  const residents = await mapConcurrent(request.homes, PROVISION_CONCURRENCY, async (home, i) => {
    const r = streamOf(request.seed, 'resident', i);
    const displayName = `${pick(r, FAMILY)}${pick(r, GIVEN)}`;
    const resident = await api.addResident({
      displayName,
      dong: request.dong,
      birthYear: between(r, 1936, 1958),
      ...(home.inactivityHours === undefined ? {} : { inactivityHours: home.inactivityHours }),
    });
    step();
    return { residentId: resident.id, displayName };
  });
  const wanted = request.homes.flatMap((home, h) => [...new Set(home.devices)].map((kind) => ({ h, kind })));
  const devices = await mapConcurrent(wanted, PROVISION_CONCURRENCY, async ({ h, kind }) => {
    const device = await api.addDevice(residents[h]!.residentId, kind);
    step();
    return { h, device: { id: device.id, secret: device.secret, kind } };
  });
  return request.homes.map((home, h) => ({
    ...residents[h]!,
    dong: request.dong,
    scenario: home.scenario,
    devices: devices.filter((d) => d.h === h).map((d) => d.device),
  }));
}

const HomesFileSchema = z.object({
  version: z.literal(1),
  homes: z.array(
    z.object({
      residentId: z.string(),
      displayName: z.string(),
      dong: z.string(),
      scenario: z.string().nullable(),
      devices: z.array(z.object({ id: z.string(), secret: z.string(), kind: z.enum(deviceKinds) })).min(1),
    }),
  ),
});

/** Homes saved by `--save-homes`, so a later run (or a benchmark) skips provisioning. */
export function readHomesFile(path: string): Home[] {
  const parsed = HomesFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a homes file: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data.homes;
}

/** Writes homes with their device secrets: readable by the owner only. */
export function writeHomesFile(path: string, homes: readonly Home[]): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600); // an existing file keeps its old mode on open: tighten it before writing secrets
    writeSync(fd, `${JSON.stringify({ version: 1, savedAt: new Date().toISOString(), homes }, null, 1)}\n`);
  } finally {
    closeSync(fd);
  }
}
