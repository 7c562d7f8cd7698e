import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../core/logger.js';
import { freePort, waitFor } from '../core/net.js';

export interface ManagedInfluxd {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const INFLUXD_CANDIDATES = ['/usr/bin/influxd', '/usr/local/bin/influxd'];

export function findInfluxd(): string | undefined {
  return INFLUXD_CANDIDATES.find((p) => existsSync(p));
}

/**
 * Starts Debian's `influxd` (1.x) with a generated config under `dir`, on free
 * loopback ports, and waits for `/ping`. Used when INFLUX_URL is unset, and by tests.
 */
export async function startManagedInfluxd(dir: string, log: Logger): Promise<ManagedInfluxd> {
  const binary = findInfluxd();
  if (!binary) throw new Error('influxd not found: install Debian\'s "influxdb" package or set INFLUX_URL');
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const configFile = join(root, 'influxdb.conf');
  // Everything that would listen or phone home is off; only HTTP on loopback.
  writeFileSync(
    configFile,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(root, 'meta')}"
  logging-enabled = false
[data]
  dir = "${join(root, 'data')}"
  wal-dir = "${join(root, 'wal')}"
  query-log-enabled = false
  wal-fsync-delay = "0s"
[coordinator]
  log-queries-after = "0s"
[retention]
  enabled = true
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
  max-body-size = 0
[logging]
  level = "warn"
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
`,
  );
  const child: ChildProcess = spawn(binary, ['-config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderrTail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let alive = true;
  void exited.then(() => (alive = false));

  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor(async () => {
      if (!alive) throw new Error('influxd exited');
      return (await fetch(`${url}/ping`)).status === 204;
    }, 30_000, 'influxd /ping');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`influxd did not start: ${(err as Error).message}; stderr: ${stderrTail.trim().slice(-500)}`);
  }
  log.info({ url, pid: child.pid, dir: root }, 'managed influxd started');

  return {
    url,
    pid: child.pid!,
    async stop() {
      if (!alive) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
