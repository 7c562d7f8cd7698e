import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../core/logger.js';
import { waitFor } from '../core/net.js';
import { connectInflux, type InfluxClient } from '../influx/client.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import type { RateJob, RateResult } from './rate-worker.js';
import type { Bench, BenchResult } from './run.js';
import { cpuSeconds, rssOf, SEED_SECRET, seedRegistry, startPlatformProcess, type PlatformChild } from './support.js';

const MB = 1024 * 1024;
const BASE_DEVICES = 250;
const STEPS = [1, 2, 4];
const PER_DEVICE_RATE = 10; // readings/s per device: 2,500 / 5,000 / 10,000 readings/s offered

/** Runs bench/rate-worker in a child process; `onProgress` gets its progress lines. */
export function runRate(job: RateJob, onProgress?: (p: { sent: number; acked: number; behind: number; at: number }) => void): Promise<RateResult> {
  const worker = fileURLToPath(new URL('./rate-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        const line = err.slice(0, nl);
        err = err.slice(nl + 1);
        try {
          const parsed = JSON.parse(line) as { progress?: { sent: number; acked: number; behind: number; at: number } };
          if (parsed.progress) {
            onProgress?.(parsed.progress);
            continue;
          }
        } catch {
          // not ours: pass it on
        }
        process.stderr.write(`${line}\n`);
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as RateResult) : reject(new Error(`rate worker exited ${code}`))));
  });
}

/** Every heart-rate point in the platform's database (the benches write nothing else there). */
export async function countHeartRate(influx: InfluxClient): Promise<number> {
  const [series] = await influx.query('SELECT count("bpm") FROM "heart_rate"');
  return (series?.values[0]?.[1] as number | undefined) ?? 0;
}

interface Step {
  devices: number;
  offered: number;
  storedPerS: number;
  acked: number;
  behind: number;
  platformUsPerReading: number;
  platformCores: number;
  rssPeakMb: number;
}

/**
 * Ingest throughput and platform RSS at 1×, 2× and 4× the devices (250, 500,
 * 1,000), each device on its own connection publishing single readings at a
 * fixed rate (open loop). Each step uses fresh devices, counts a reading once
 * InfluxQL sees it, and samples the platform's RSS while it runs. The ratios
 * say how cost grows: throughput per device relative to 1× (100 % = linear)
 * and CPU per reading and RSS relative to 1×.
 */
export const run: Bench = async ({ quick }) => {
  const durationMs = quick ? 4000 : 15_000;
  const dir = mkdtempSync(join(tmpdir(), 'dh-bench-scaling-'));
  const log = createLogger('warn');
  const influxd = await startManagedInfluxd(join(dir, 'influxdb'), log);
  let platform: PlatformChild | undefined;
  try {
    // Every device of every step registered up front (one transaction, one shared secret), as in the memory bench.
    const total = STEPS.reduce((sum, k) => sum + k * BASE_DEVICES, 0);
    mkdirSync(join(dir, 'platform'));
    await seedRegistry(join(dir, 'platform', 'registry.db'), total, 1);
    platform = await startPlatformProcess(influxd.url, join(dir, 'platform'));
    const influx = await connectInflux({ url: influxd.url, db: 'donghaeng' }, log);
    const rssIdle = rssOf(platform.child.pid);

    const steps: Step[] = [];
    let first = 0;
    for (const k of STEPS) {
      const devices = k * BASE_DEVICES;
      const before = await countHeartRate(influx);
      const cpu0 = cpuSeconds(platform.child.pid);
      let rssPeak = rssOf(platform.child.pid);
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(platform?.child.pid))), 250);
      let load: RateResult;
      try {
        load = await runRate({
          url: platform.mqttUrl, prefix: 'dev', first, count: devices, secret: SEED_SECRET,
          perDeviceRate: PER_DEVICE_RATE, durationMs, baseTs: Date.now() - 3_600_000, drainMs: 60_000,
        });
        await waitFor(async () => (await countHeartRate(influx)) - before >= load.acked, 120_000, `${k}×: every PUBACKed reading in InfluxDB`, 250);
      } finally {
        clearInterval(sampler);
      }
      const seconds = (Date.now() - load.startedAt) / 1000;
      const stored = (await countHeartRate(influx)) - before;
      if (stored < load.acked) throw new Error(`${k}×: ${stored} points for ${load.acked} acknowledged readings`);
      const cpu = cpuSeconds(platform.child.pid) - cpu0;
      steps.push({
        devices, offered: devices * PER_DEVICE_RATE, storedPerS: stored / seconds, acked: load.acked, behind: load.behind,
        platformUsPerReading: (cpu / Math.max(1, stored)) * 1e6, platformCores: cpu / seconds, rssPeakMb: rssPeak / MB,
      });
      first += devices;
    }

    const [one, two, four] = steps as [Step, Step, Step];
    const figures: BenchResult['figures'] = { per_device_rate: PER_DEVICE_RATE, rss_idle_mb: Math.round(rssIdle / MB) };
    for (const [label, s] of [['1x', one], ['2x', two], ['4x', four]] as const) {
      figures[`devices_${label}`] = s.devices;
      figures[`offered_${label}`] = s.offered;
      figures[`stored_per_s_${label}`] = Math.round(s.storedPerS);
      figures[`behind_${label}`] = s.behind;
      figures[`platform_cores_${label}`] = Number(s.platformCores.toFixed(2));
      figures[`platform_us_per_reading_${label}`] = Number(s.platformUsPerReading.toFixed(1));
      figures[`rss_peak_mb_${label}`] = Math.round(s.rssPeakMb);
    }
    return [{
      name: 'scaling',
      influxVersion: influx.version,
      figures,
      ratios: {
        throughput_per_device_2x_vs_1x: two.storedPerS / (2 * one.storedPerS),
        throughput_per_device_4x_vs_1x: four.storedPerS / (4 * one.storedPerS),
        cpu_per_reading_4x_vs_1x: four.platformUsPerReading / one.platformUsPerReading,
        rss_4x_vs_1x: four.rssPeakMb / one.rssPeakMb,
      },
      notes: `${BASE_DEVICES}/${2 * BASE_DEVICES}/${4 * BASE_DEVICES} devices, each its own connection, ${PER_DEVICE_RATE} single readings/s each (open loop), `
        + `${durationMs / 1000} s per step, timed until InfluxQL counts every PUBACKed reading; platform CPU includes connection set-up; RSS is the platform process's peak during the step`,
    }];
  } finally {
    await platform?.stop();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
