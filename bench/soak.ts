import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/logger.js';
import { freePort, waitFor } from '../core/net.js';
import { connectInflux } from '../influx/client.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import { countHeartRate, runRate } from './scaling.js';
import { rssOf, SEED_SECRET, seedRegistry } from './support.js';

/**
 * `npm run soak [-- --minutes N --devices N --rate R]`: steady load for N
 * minutes (default 10) against the platform in its own process, writing to an
 * InfluxDB this script controls:
 *   - InfluxDB is stopped from 10 % to 90 % of the run (minute 1 to 9 of 10),
 *     then started again;
 *   - halfway (while InfluxDB is still down and the outbox holds minutes of
 *     readings), the platform is killed with SIGKILL and started again on the
 *     same DATA_DIR and ports; the devices reconnect and resend what was not
 *     acknowledged, as real devices do.
 * Passes when every PUBACKed reading is in InfluxDB once the outbox drains
 * (InfluxQL count = PUBACKed count, every reading having its own timestamp)
 * and nothing is left unacknowledged. Reports the platform's RSS and outbox
 * backlog over the run. Exit code 0 on pass, 1 on loss, 2 on a failure to run.
 */

const ADMIN_PASSWORD = 'soak-admin-password';
const MB = 1024 * 1024;
const SAMPLE_MS = 5000;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    devices: { type: 'string', default: '200' },
    rate: { type: 'string', default: '5' }, // readings/s per device
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const deviceCount = Number(values.devices);
const perDeviceRate = Number(values.rate);
if (!(minutes > 0) || !(deviceCount > 0) || !(perDeviceRate > 0)) {
  console.error('usage: npm run soak -- [--minutes 10] [--devices 200] [--rate 5] [--keep]');
  process.exit(2);
}
const durationMs = minutes * 60_000;

interface Sample {
  t: number; // seconds since the load started
  rssMb: number;
  backlog: number;
  status: string;
}

const dir = mkdtempSync(join(tmpdir(), 'dh-soak-'));
const dataDir = join(dir, 'platform');
const platformLog = join(dir, 'platform.log');
const log = createLogger('warn');
const say = (text: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${text}`);

const influxd = await startManagedInfluxd(join(dir, 'influxdb'), log);
const [http, mqtt, ws] = [await freePort(), await freePort(), await freePort()];
const httpUrl = `http://127.0.0.1:${http}`;
let platform: ChildProcess | undefined;
let platformExited: Promise<void> = Promise.resolve();
// Ctrl-C (the terminal signals the load worker too): stop what this script started, keep the directory.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    platform?.kill('SIGKILL');
    void influxd.stop().finally(() => {
      console.error(`soak interrupted; kept ${dir}`);
      process.exit(130);
    });
  });
}

async function startPlatform(): Promise<void> {
  const out = createWriteStream(platformLog, { flags: 'a' });
  const child = spawn(process.execPath, [fileURLToPath(new URL('../main.js', import.meta.url))], {
    env: {
      ...process.env, DATA_DIR: dataDir, INFLUX_URL: influxd.url, HTTP_PORT: String(http), MQTT_PORT: String(mqtt), MQTT_WS_PORT: String(ws),
      ADMIN_PASSWORD, LOG_LEVEL: 'warn', MQTT_DEVICE_RATE: '1000', MQTT_DEVICE_BURST: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  platform = child;
  let running = true;
  platformExited = new Promise<void>((resolve) => child.once('exit', () => {
    running = false;
    resolve();
  }));
  await waitFor(async () => {
    if (!running) throw new Error(`the platform exited; see ${platformLog}`);
    return (await fetch(`${httpUrl}/healthz`)).status === 200;
  }, 120_000, 'the platform');
}

async function health(): Promise<{ status: string; backlog: number }> {
  const body = (await (await fetch(`${httpUrl}/healthz`)).json()) as { status: string; checks: { backlog?: { detail?: number } } };
  return { status: body.status, backlog: Number(body.checks.backlog?.detail ?? 0) };
}

let exitCode = 2;
try {
  mkdirSync(dataDir);
  await seedRegistry(join(dataDir, 'registry.db'), deviceCount, 1);
  await startPlatform();
  const influx = await connectInflux({ url: influxd.url, db: 'donghaeng' }, log);
  say(`platform up (${httpUrl}); ${deviceCount} devices × ${perDeviceRate} readings/s for ${minutes} min; InfluxDB down from ${(minutes * 0.1).toFixed(1)} to ${(minutes * 0.9).toFixed(1)} min, SIGKILL at ${(minutes * 0.5).toFixed(1)} min`);

  const samples: Sample[] = [];
  const events: string[] = [];
  let loadStart = 0;
  let progress = { sent: 0, acked: 0, behind: 0 };
  const load = runRate({
    url: `mqtt://127.0.0.1:${mqtt}`, prefix: 'dev', first: 0, count: deviceCount, secret: SEED_SECRET, perDeviceRate,
    durationMs, baseTs: Date.now() - 60 * 60_000, maxInFlight: 50, drainMs: 180_000, reconnect: true, progress: true,
  }, (p) => {
    if (!loadStart) loadStart = p.at - 1000;
    progress = p;
  });
  await waitFor(() => loadStart > 0, 120_000, 'the load to start', 100);
  const at = (fraction: number) => loadStart + durationMs * fraction;
  const elapsed = () => (Date.now() - loadStart) / 1000;

  const sampler = setInterval(() => {
    void health().then((h) => samples.push({ t: elapsed(), rssMb: rssOf(platform?.pid) / MB, backlog: h.backlog, status: h.status }), () => {});
  }, SAMPLE_MS);
  const reporter = setInterval(() => {
    const last = samples[samples.length - 1];
    say(`t=${elapsed().toFixed(0)} s sent=${progress.sent} acked=${progress.acked} behind=${progress.behind} backlog=${last?.backlog ?? '?'} rss=${last ? Math.round(last.rssMb) : '?'} MB ${last?.status ?? ''}`);
  }, 30_000);

  const until = (t: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())));
  let backlogAtKill = 0;
  let backlogAfterRestart = 0;
  let restartSeconds = 0;
  let influxBackAt = 0;
  try {
    await until(at(0.1));
    await influxd.stop();
    events.push(`${elapsed().toFixed(0)} s: InfluxDB stopped`);
    say('InfluxDB stopped');

    await until(at(0.5));
    backlogAtKill = (await health()).backlog;
    platform!.kill('SIGKILL');
    await platformExited;
    const killedAt = Date.now();
    events.push(`${elapsed().toFixed(0)} s: platform SIGKILLed (backlog ${backlogAtKill})`);
    say(`platform SIGKILLed with ${backlogAtKill} readings in the outbox; restarting`);
    await startPlatform();
    restartSeconds = (Date.now() - killedAt) / 1000;
    backlogAfterRestart = (await health()).backlog;
    events.push(`${elapsed().toFixed(0)} s: platform back after ${restartSeconds.toFixed(1)} s (backlog ${backlogAfterRestart})`);
    say(`platform back after ${restartSeconds.toFixed(1)} s, backlog ${backlogAfterRestart}`);

    await until(at(0.9));
    await influxd.start();
    influxBackAt = Date.now();
    events.push(`${elapsed().toFixed(0)} s: InfluxDB started`);
    say('InfluxDB started');
  } catch (err) {
    clearInterval(sampler);
    clearInterval(reporter);
    throw err;
  }

  const result = await load;
  clearInterval(reporter);
  say(`load done: sent=${result.sent} acked=${result.acked} failed=${result.failed} unacked=${result.unacked} behind=${result.behind}; waiting for the outbox to drain`);
  await waitFor(async () => (await health()).backlog === 0, 15 * 60_000, 'the outbox to drain', 1000);
  const drainSeconds = (Date.now() - influxBackAt) / 1000;
  clearInterval(sampler);
  const stored = await countHeartRate(influx);
  const maxOf = (f: (s: Sample) => number) => samples.reduce((m, s) => Math.max(m, f(s)), 0);
  const pass = result.unacked === 0 && stored === result.acked;
  const summary = {
    minutes, devices: deviceCount, per_device_rate: perDeviceRate,
    sent: result.sent, acked: result.acked, failed: result.failed, unacked: result.unacked, behind: result.behind, stored,
    lost: Math.max(0, result.acked - stored),
    backlog_max: maxOf((s) => s.backlog), backlog_at_kill: backlogAtKill, backlog_after_restart: backlogAfterRestart,
    restart_s: Number(restartSeconds.toFixed(1)), drain_s_after_influx_back: Number(drainSeconds.toFixed(1)),
    rss_max_mb: Math.round(maxOf((s) => s.rssMb)), rss_end_mb: Math.round(rssOf(platform?.pid) / MB),
    statuses: [...new Set(samples.map((s) => s.status))].join('/'),
  };
  console.log(JSON.stringify({ soak: summary, events, pass }, null, 2));
  writeFileSync(join(dir, 'samples.json'), JSON.stringify(samples));

  const results = new URL('../../bench/RESULTS.md', import.meta.url);
  if (existsSync(results)) {
    const figures = Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(', ');
    appendFileSync(results, `| ${new Date().toISOString().slice(0, 16).replace('T', ' ')} | soak | ${cpus().length} cores, Node ${process.version}, InfluxDB ${influx.version} | ${figures} | zero_loss=${pass ? 'yes' : 'NO'} |\n`);
  }
  if (!pass) console.error(`LOSS: ${result.acked} PUBACKed, ${stored} in InfluxDB, ${result.unacked} never acknowledged; platform log: ${platformLog}`);
  exitCode = pass ? 0 : 1;
} catch (err) {
  console.error(`soak failed to run: ${(err as Error).message}`);
  if (existsSync(platformLog)) console.error(readFileSync(platformLog, 'utf8').slice(-3000));
} finally {
  platform?.kill('SIGTERM');
  await platformExited;
  await influxd.stop();
  if (exitCode === 0 && !values.keep) rmSync(dir, { recursive: true, force: true });
  else say(`kept ${dir}`);
}
process.exit(exitCode);
