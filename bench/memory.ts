import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInProcessBus } from '../core/bus.js';
import { systemClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { DEVICE_SECRET_COST, hashSecret } from '../core/secrets.js';
import { openDb } from '../core/sqlite.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import { openRegistry } from '../registry/store.js';
import { startPlatformProcess, type PlatformChild } from './ingest.js';
import type { Bench } from './run.js';
import { rssOf } from './scaling.js';

const MB = 1024 * 1024;
export const SEED_SECRET = 'bench-shared-device-secret';

/**
 * Seeds the registry in one transaction. Going through createDevice would
 * cost one scrypt hash and one fsync per device (minutes for 300,000); the
 * bench writes the same rows with one precomputed hash instead.
 */
export async function seedRegistry(file: string, residents: number, devicesPerResident: number): Promise<void> {
  openRegistry(file, { bus: createInProcessBus(() => {}), clock: systemClock }).close(); // creates the schema
  const hash = await hashSecret(SEED_SECRET, DEVICE_SECRET_COST);
  const db = openDb(file);
  const now = Date.now();
  const addResident = db.prepare('INSERT INTO residents (id, dong, body, enabled, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)');
  const addDevice = db.prepare('INSERT INTO devices (id, resident_id, kind, offline_after_minutes, enabled, secret_hash, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)');
  const kinds = ['motion_sensor', 'smart_plug', 'bp_monitor'];
  db.transaction(() => {
    for (let r = 0; r < residents; r++) {
      const id = `r-${r}`;
      addResident.run(id, `dong-${r % 426}`, JSON.stringify({ displayName: `resident ${r}`, inactivityHours: 24 }), now, now);
      for (let k = 0; k < devicesPerResident; k++) {
        addDevice.run(`dev-${r * devicesPerResident + k}`, id, kinds[k % kinds.length], 60, hash, now);
      }
    }
  })();
  db.close();
}

/** RSS of the platform with a Seoul-sized registry and 10,000 devices connected (bar ≤ 500 MB). */
export const run: Bench = async ({ quick }) => {
  const residents = quick ? 20_000 : 100_000;
  const devicesPerResident = 3;
  const connections = quick ? 2_000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'dh-bench-memory-'));
  const dataDir = join(dir, 'data');
  await seedRegistry(join(dataDir, 'registry.db'), residents, devicesPerResident);

  // The platform runs as `npm start` runs it, in its own process: the bench runner's own heap
  // (other benchmarks, the seeding) must not count, so RSS is read from /proc for that process.
  const influxd = await startManagedInfluxd(join(dir, 'influxdb'), createLogger('warn'));
  let platform: PlatformChild | undefined;
  let worker: ChildProcess | undefined;
  try {
    platform = await startPlatformProcess(influxd.url, dataDir);
    const rssIdle = rssOf(platform.child.pid);
    worker = spawn(process.execPath, [
      fileURLToPath(new URL('./connect-worker.js', import.meta.url)),
      JSON.stringify({ url: platform.mqttUrl, prefix: 'dev', count: connections, secret: SEED_SECRET, concurrency: 100 }),
    ], { stdio: ['pipe', 'pipe', 'inherit'] });
    const started = performance.now();
    const report = await new Promise<{ connected: number; failed: number }>((resolve, reject) => {
      let out = '';
      worker!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as { connected: number; failed: number });
      });
      worker!.once('exit', (code) => reject(new Error(`connect worker exited ${code}`)));
    });
    const connectSeconds = (performance.now() - started) / 1000;
    const rssConnected = rssOf(platform.child.pid);
    return [{
      name: 'memory',
      figures: {
        residents,
        devices: residents * devicesPerResident,
        connected: report.connected,
        connect_failures: report.failed,
        connect_seconds: Number(connectSeconds.toFixed(1)),
        rss_registered_mb: Math.round(rssIdle / MB),
        rss_connected_mb: Math.round(rssConnected / MB),
        kb_per_connection: Math.round((rssConnected - rssIdle) / 1024 / Math.max(1, report.connected)),
      },
      ratios: { rss_vs_500mb_bar: rssConnected / (500 * MB) },
      notes: 'RSS of the platform process (node dist/main.js: broker, ingest, alerts and web); the load and influxd run in other processes',
    }];
  } finally {
    worker?.stdin?.end();
    await platform?.stop();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
