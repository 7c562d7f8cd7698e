import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInProcessBus } from '../core/bus.js';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { freePort, waitFor } from '../core/net.js';
import { DEVICE_SECRET_COST, hashSecret } from '../core/secrets.js';
import { openDb } from '../core/sqlite.js';
import { startPlatform, type Platform } from '../platform.js';
import { openRegistry } from '../registry/store.js';

/** The administrator password of every platform a benchmark starts. */
export const ADMIN_PASSWORD = 'bench-admin-password';
/** The dong of the residents `provision` creates. */
export const BENCH_DONG = '1111051500';

export interface LoadJob {
  url: string;
  devices: { id: string; secret?: string }[];
  messagesPerDevice: number;
  inFlightPerDevice: number;
  payload: string;
}

export interface LoadResult {
  messages: number;
  seconds: number;
  latencyMs: { p50: number; p99: number };
}

/**
 * Runs a bench worker (`script`, next to this file) in its own process, so the load does not share an
 * event loop with what it measures: the job goes in as argv[2], the result comes back as JSON on stdout.
 */
export function runWorker<T>(script: string, job: unknown): Promise<T> {
  const worker = fileURLToPath(new URL(`./${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${script} exited ${code}`))));
  });
}

/** Runs bench/load-worker and returns its result. */
export const runLoad = (job: LoadJob) => runWorker<LoadResult>('load-worker.js', job);

/** The whole platform in this process on free ports, with its own managed influxd, in a temp DATA_DIR. */
export async function startBenchPlatform(env: Record<string, string> = {}): Promise<{ platform: Platform; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-bench-'));
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', MQTT_PORT: '0', MQTT_WS_PORT: '0', ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...env });
  const platform = await startPlatform(config, { log: createLogger('warn') });
  return {
    platform,
    async close() {
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ── processes and seeding shared by the benchmarks ──

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

/**
 * Waits until the processes together use less than `maxCores` over a second (or `timeoutMs`
 * passed) and returns the seconds waited: a phase should not pay for what the one before left
 * running, such as influxd compacting the points a raw phase wrote.
 */
export async function waitForQuiet(pids: (number | undefined)[], maxCores = 0.05, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  const used = () => pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  for (;;) {
    const before = used();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const waited = (performance.now() - started) / 1000;
    if (used() - before < maxCores || waited * 1000 >= timeoutMs) return waited; // CPU seconds in one second: cores
  }
}

/**
 * Two disjoint halves of this machine's CPUs as taskset lists (on 2 cores: "0" and "1"), or
 * undefined when there is only one CPU or no `taskset` (util-linux) to pin with.
 */
export function cpuHalves(): [string, string] | undefined {
  const cpus = availableParallelism();
  if (cpus < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const half = Math.floor(cpus / 2);
  return [half === 1 ? '0' : `0-${half - 1}`, half === cpus - 1 ? String(half) : `${half}-${cpus - 1}`];
}

/** The CPUs a process may run on, as /proc lists them (e.g. "0-1"). */
export function cpusAllowed(pid: number | undefined): string {
  if (!pid) return '?';
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** Confines every thread of a process (and the threads it starts later) to `cpus`, a taskset list. */
export function pinToCpus(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
}

/** Resident set size of a process, from /proc (bytes). */
export function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface PlatformChild {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  stop(): Promise<void>;
}

/** The node flags of `npm start` (package.json), so a benchmark runs the platform exactly as it ships. */
function startFlags(): string[] {
  const packageJson = fileURLToPath(new URL('../../package.json', import.meta.url));
  const start = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  return start.slice(1, -1); // between `node` and `dist/main.js`
}

/** The platform as `npm start` runs it, in its own process, writing to the bench's influxd. */
export async function startPlatformProcess(influxUrl: string, dataDir: string, env: Record<string, string> = {}): Promise<PlatformChild> {
  const [http, mqtt, ws] = [await freePort(), await freePort(), await freePort()];
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  // BENCH_PLATFORM_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the platform (not allowed in NODE_OPTIONS).
  const nodeArgs = process.env.BENCH_PLATFORM_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...startFlags(), ...nodeArgs, main], {
    env: {
      ...process.env, DATA_DIR: dataDir, INFLUX_URL: influxUrl, HTTP_PORT: String(http), MQTT_PORT: String(mqtt), MQTT_WS_PORT: String(ws),
      ADMIN_PASSWORD, LOG_LEVEL: 'warn',
      // The bench measures the data path, not the per-device limiter (which still runs for every message).
      MQTT_DEVICE_RATE: '1000000', MQTT_DEVICE_BURST: '1000000',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let running = true;
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running = false;
    resolve();
  }));
  const httpUrl = `http://127.0.0.1:${http}`;
  await waitFor(async () => {
    if (!running) throw new Error('the platform exited');
    return (await fetch(`${httpUrl}/healthz`)).status === 200;
  }, 60_000, 'the platform');
  return {
    child, httpUrl, mqttUrl: `mqtt://127.0.0.1:${mqtt}`,
    async stop() {
      if (running) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Creates `count` residents with one gateway each through the admin REST API; returns the devices' credentials. */
export async function provision(platform: PlatformChild, count: number, label: string): Promise<{ id: string; secret: string }[]> {
  const call = async <T>(path: string, body: unknown, token?: string): Promise<T> => {
    const res = await fetch(`${platform.httpUrl}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path} → ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const { token } = await call<{ token: string }>('/api/login', { username: 'admin', password: ADMIN_PASSWORD });
  const devices: { id: string; secret: string }[] = [];
  for (let i = 0; i < count; i++) {
    const resident = await call<{ id: string }>('/api/residents', { displayName: `bench ${label} ${i}`, dong: BENCH_DONG }, token);
    devices.push(await call<{ id: string; secret: string }>('/api/devices', { residentId: resident.id, kind: 'gateway' }, token));
  }
  return devices;
}

/** One unlabelled value from the platform's /metrics (Prometheus text). */
export async function metricOf(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
}

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
