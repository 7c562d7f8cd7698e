import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../core/logger.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import type { Bench } from './run.js';
import { metricOf, rssOf, SEED_SECRET, seedRegistry, startPlatformProcess, type PlatformChild } from './support.js';

const MB = 1024 * 1024;
// V8 heap in use (live and not yet collected), read after RSS so the request does not count.
const HEAP_USED = 'dh_process_nodejs_heap_size_used_bytes';

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
    // Measured after a restart, the state a long-running node is in: the first start has no saved
    // alert state to load (a restart once held ~140 MB more than a first start).
    platform = await startPlatformProcess(influxd.url, dataDir);
    const rssFirstStart = rssOf(platform.child.pid);
    await platform.stop();
    platform = await startPlatformProcess(influxd.url, dataDir);
    const rssIdle = rssOf(platform.child.pid);
    const heapIdle = await metricOf(platform.httpUrl, HEAP_USED);
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
    const heapConnected = await metricOf(platform.httpUrl, HEAP_USED);
    return [{
      name: 'memory',
      figures: {
        residents,
        devices: residents * devicesPerResident,
        connected: report.connected,
        connect_failures: report.failed,
        connect_seconds: Number(connectSeconds.toFixed(1)),
        rss_first_start_mb: Math.round(rssFirstStart / MB),
        rss_registered_mb: Math.round(rssIdle / MB),
        rss_connected_mb: Math.round(rssConnected / MB),
        kb_per_connection: Math.round((rssConnected - rssIdle) / 1024 / Math.max(1, report.connected)),
        heap_used_registered_mb: Math.round(heapIdle / MB),
        heap_used_connected_mb: Math.round(heapConnected / MB),
      },
      ratios: { rss_vs_500mb_bar: rssConnected / (500 * MB) },
      notes: 'RSS of the platform process (node dist/main.js: broker, ingest, alerts and web) after one restart; the load and influxd run in other processes',
    }];
  } finally {
    worker?.stdin?.end();
    await platform?.stop();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
