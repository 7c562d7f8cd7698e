import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../../core/net.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist', 'main.js');
const SOURCES = ['main.ts', 'platform.ts', 'split.ts', 'core', 'broker', 'ingest', 'influx', 'registry', 'alerts', 'web'];

/** A source file newer than its build, if any: the child would run old code. */
function staleBuild(): string | undefined {
  const check = (rel: string): string | undefined => {
    const file = join(ROOT, rel);
    if (statSync(file).isDirectory()) {
      for (const entry of readdirSync(file)) {
        if (entry === 'public' || entry === 'node_modules') continue;
        const found = check(join(rel, entry));
        if (found) return found;
      }
      return undefined;
    }
    if (!rel.endsWith('.ts') || rel.endsWith('.test.ts')) return undefined;
    const built = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs ? rel : undefined;
  };
  for (const rel of SOURCES) {
    const found = check(rel);
    if (found) return found;
  }
  return undefined;
}

/** The platform as `npm start` runs it (`node dist/main.js`, built by `make test` before vitest), in its own process. */
export interface PlatformProcess {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  /** stdout and stderr so far (the last 20 kB), for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnPlatform(env: Record<string, string>): Promise<PlatformProcess> {
  const stale = existsSync(MAIN) ? staleBuild() : 'main.ts';
  if (stale) throw new Error(`dist/ is older than ${stale}: build first (npx tsc -p .; make test builds before vitest)`);
  // Free ports unless the caller names them (a process restarted on the ports of the one it replaces).
  const http = env.HTTP_PORT ?? String(await freePort());
  const mqtt = env.MQTT_PORT ?? String(await freePort());
  const ws = env.MQTT_WS_PORT ?? String(await freePort());
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, HTTP_PORT: http, MQTT_PORT: mqtt, MQTT_WS_PORT: ws },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running = false;
      resolve(code);
    }),
  );
  const httpUrl = `http://127.0.0.1:${http}`;
  try {
    await waitFor(async () => !running || (await fetch(`${httpUrl}/healthz`)).status === 200, 45_000, 'the platform process to be healthy');
    if (!running) throw new Error(`exited (${await exited})`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return {
    child,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${mqtt}`,
    output: () => output,
    exited,
    async kill(signal) {
      if (running) child.kill(signal);
      await exited;
    },
  };
}

/** The HTTP address of the influxd a platform manages under DATA_DIR (from the config it wrote). */
export function managedInfluxUrl(dataDir: string): string {
  const config = readFileSync(join(dataDir, 'influxdb', 'influxdb.conf'), 'utf8');
  const http = /\[http\][^[]*bind-address = "([^"]+)"/.exec(config);
  if (!http) throw new Error('no [http] bind-address in the managed influxd config');
  return `http://${http[1]}`;
}

/** The pid the managed influxd's guard recorded, if it is still recorded. */
export function managedInfluxdPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'influxdb', 'influxd.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}
