import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../core/logger.js';
import { freePort, waitFor } from '../core/net.js';

export interface ManagedInfluxd {
  url: string;
  /** The influxd process (not its guard shell). */
  pid: number;
  /** Stops influxd (SIGTERM, SIGKILL after 10 s); its data stays. */
  stop(): Promise<void>;
  /** Starts it again after stop(), on the same port and data directory. */
  start(): Promise<void>;
}

const INFLUXD_CANDIDATES = ['/usr/bin/influxd', '/usr/local/bin/influxd'];

export function findInfluxd(): string | undefined {
  return INFLUXD_CANDIDATES.find((p) => existsSync(p));
}

/**
 * Runs influxd under a guard shell that kills it when our stdin pipe closes —
 * which happens when the platform exits, however it exits (even SIGKILL, which
 * Node cannot intercept). It writes influxd's pid to `influxd.pid`, so a
 * restarted platform can also finish off one that outlived a crash.
 */
const GUARD = `
exec 3<&0
"$1" -config "$2" </dev/null &
p=$!
echo $p > "$3"
( read -r _ <&3; kill -TERM $p 2>/dev/null ) &
wait $p
`;

function configText(root: string, httpPort: number, rpcPort: number): string {
  // Everything that would listen or phone home is off; only HTTP on loopback.
  return `reporting-disabled = true
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
`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An influxd left running on this data directory by a platform that died (its pid file names it). */
async function killStale(pidFile: string, configFile: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('influxd') || !cmdline.includes(configFile)) return; // the pid was reused by someone else
  log.warn({ pid }, 'stopping an influxd left over from a previous run on this data directory');
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(() => !isAlive(pid), 10_000, 'the stale influxd to exit');
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 5_000, 'the stale influxd to die');
  }
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
  const configFile = join(root, 'influxdb.conf');
  const pidFile = join(root, 'influxd.pid');
  await killStale(pidFile, configFile, log);
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  writeFileSync(configFile, configText(root, httpPort, rpcPort));
  const url = `http://127.0.0.1:${httpPort}`;

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let alive = false;
  let pid = 0;

  async function start(): Promise<void> {
    if (alive) return;
    rmSync(pidFile, { force: true });
    const proc = spawn('/bin/sh', ['-c', GUARD, 'influxd-guard', binary!, configFile, pidFile], { stdio: ['pipe', 'ignore', 'pipe'] });
    child = proc;
    alive = true;
    let stderrTail = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });
    proc.stdin!.on('error', () => {}); // EPIPE once the guard is gone
    exited = new Promise<void>((res) =>
      proc.once('exit', () => {
        alive = false;
        res();
      }),
    );
    try {
      await waitFor(async () => {
        if (!alive) throw new Error('influxd exited');
        return (await fetch(`${url}/ping`)).status === 204;
      }, 30_000, 'influxd /ping');
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch (err) {
      await stop(true);
      throw new Error(`influxd did not start: ${(err as Error).message}; stderr: ${stderrTail.trim().slice(-500)}`);
    }
    log.info({ url, pid, dir: root }, 'managed influxd started');
  }

  async function stop(force = false): Promise<void> {
    if (!alive || !child) return;
    if (force && pid) process.kill(pid, 'SIGKILL');
    child.stdin!.end(); // the guard's reader sees EOF and sends influxd SIGTERM
    const timer = setTimeout(() => {
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(pidFile, { force: true });
  }

  await start();
  return {
    url,
    get pid() {
      return pid;
    },
    stop: () => stop(),
    start,
  };
}
