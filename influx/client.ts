import { InfluxDB, setLogger, type SendOptions, type Transport, type CommunicationObserver } from '@influxdata/influxdb-client';
import type { Logger } from '../core/logger.js';

export interface InfluxSettings {
  url: string;
  db: string;
  org?: string;
  token?: string;
  username?: string;
  password?: string;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxClient {
  readonly url: string;
  readonly version: string;
  /**
   * Writes line protocol (ms precision): whole lines, each ending in `\n`.
   * Resolves only when InfluxDB acknowledged all of them; rejects with the client's
   * HttpError (`statusCode`, `body`) when it refused them. Once it settles, the body's
   * bytes are the caller's again (the writer reuses them: ingest/line-protocol.ts).
   */
  writeLines(body: Buffer): Promise<void>;
  /** InfluxQL over `/query`, which 1.x, 2.x (DBRP) and 3.x all serve. Timestamps come back as epoch ms. */
  query(influxql: string): Promise<InfluxSeries[]>;
  ping(): Promise<boolean>;
  /** CREATE DATABASE on 1.x; on 2.x/3.x the DBRP mapping provides it, so a failure is only logged. */
  ensureDatabase(): Promise<void>;
}

/**
 * `1.6.7~rc0` → true: below 1.8, the first release serving `/api/v2/write`.
 * A 2.x server without an org also gets the 1.x-compatible `/write` (it needs
 * an org on the v2 path, and serves `/write?db=` through the DBRP mapping).
 */
export function needsV1WritePath(version: string, org?: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < 1 || (major === 1 && minor < 8) || (major >= 2 && !org);
}

/** Rewrites `/api/v2/write?org=…&bucket=B&precision=P` to 1.x `/write?db=B&precision=P`. */
export function v1WritePath(path: string, auth?: { username: string; password: string }): string {
  if (!path.startsWith('/api/v2/write?')) return path;
  const v2 = new URLSearchParams(path.slice('/api/v2/write?'.length));
  const v1 = new URLSearchParams({ db: v2.get('bucket') ?? '', precision: v2.get('precision') ?? 'ns' });
  if (auth) {
    v1.set('u', auth.username);
    v1.set('p', auth.password);
  }
  return `/write?${v1.toString()}`;
}

/** The client's own Node transport, with the write path mapped for servers older than 1.8. */
function v1Transport(inner: Transport, auth?: { username: string; password: string }): Transport {
  // Every write asks for the same path: parsing it each time was ~1 % of the CPU with one reading a message.
  let lastPath: string | undefined;
  let lastMapped = '';
  const map = (path: string) => {
    if (path !== lastPath) lastMapped = v1WritePath((lastPath = path), auth);
    return lastMapped;
  };
  return {
    send: (path: string, body: string, options: SendOptions, callbacks?: Partial<CommunicationObserver<Uint8Array>>) =>
      inner.send(map(path), body, options, callbacks),
    request: (path, body, options, responseStarted) => inner.request(map(path), body, options, responseStarted),
    iterate: (path, body, options) => inner.iterate(map(path), body, options),
    chunkCombiner: inner.chunkCombiner,
  };
}

const WRITE_OPTIONS: SendOptions = { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } };

function authHeader(s: InfluxSettings): string | undefined {
  if (s.token) return `Token ${s.token}`;
  if (s.username && s.password) return `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}`;
  return undefined;
}

export async function connectInflux(settings: InfluxSettings, log: Logger): Promise<InfluxClient> {
  const url = settings.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  const auth = authHeader(settings);
  if (auth) headers.authorization = auth;

  // The client logs each failed write itself; route it through pino, once, at warn.
  setLogger({
    error: (message: string, err?: unknown) => log.warn({ err: (err as Error | undefined)?.message }, message),
    warn: (message: string) => log.debug(message),
  });
  const writePath = `/api/v2/write?${new URLSearchParams({ org: settings.org ?? '', bucket: settings.db, precision: 'ms' }).toString()}`;

  // The server's version decides the write path, so the client is built once InfluxDB answers
  // /ping. A server that is away when the platform starts only delays this: readings wait in the
  // outbox, and the first write after it returns connects (and creates the database).
  let version = 'unknown';
  let connecting: Promise<InfluxDB> | undefined;
  const connection = (): Promise<InfluxDB> => (connecting ??= open().catch((err: unknown) => {
    connecting = undefined;
    throw err;
  }));
  async function open(): Promise<InfluxDB> {
    const pingResponse = await fetch(`${url}/ping`, { headers, signal: AbortSignal.timeout(5000) });
    version = pingResponse.headers.get('x-influxdb-version') ?? 'unknown';
    // 1.8+ accepts `Token user:password`; older servers get u/p on the rewritten path.
    const token = settings.token ?? (settings.username ? `${settings.username}:${settings.password}` : undefined);
    const base = new InfluxDB({ url, token, timeout: 30_000 });
    const legacy = needsV1WritePath(version, settings.org);
    const influx = legacy
      ? new InfluxDB({
          url,
          transport: v1Transport(
            base.transport,
            settings.username && settings.password ? { username: settings.username, password: settings.password } : undefined,
          ),
        })
      : base;
    log.info({ url, version, writePath: legacy ? '/write (1.x)' : '/api/v2/write' }, 'influxdb connected');
    await createDatabase();
    return influx;
  }

  async function createDatabase(): Promise<void> {
    try {
      await query(`CREATE DATABASE "${settings.db}"`, 'POST');
    } catch (err) {
      log.warn({ db: settings.db, err: (err as Error).message }, 'could not create the database (fine on 2.x with a DBRP mapping)');
    }
  }

  async function query(influxql: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[]> {
    const params = new URLSearchParams({ db: settings.db, q: influxql, epoch: 'ms' });
    const response = await fetch(`${url}/query?${params.toString()}`, { method, headers });
    const text = await response.text();
    if (!response.ok) throw new Error(`InfluxQL ${response.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
    const first = body.results?.[0];
    if (body.error || first?.error) throw new Error(`InfluxQL: ${body.error ?? first?.error}`);
    return first?.series ?? [];
  }

  try {
    await connection();
  } catch (err) {
    log.warn({ url, err: (err as Error).message }, 'influxdb is not reachable; starting anyway, readings wait in the outbox');
  }

  return {
    url,
    get version() {
      return version;
    },
    async writeLines(body) {
      if (body.length === 0) return;
      const influx = await connection();
      // Straight through the client's transport (which the 1.x path mapping wraps), not its
      // WriteApi: the WriteApi counts the UTF-8 bytes of every line in JavaScript (4 % of the
      // platform's CPU in the gateway mix of bench/ingest.ts) for batching we do not use, and
      // gzips any body above 1 kB by default (0.5 µs a point, as much as the rest of the write).
      // send(), not request(): request() would JSON.stringify a body that is not a string.
      // It completes on 204 and fails with the client's HttpError otherwise; retries are the
      // outbox's job (DESIGN §4).
      try {
        await new Promise<void>((resolve, reject) => {
          // Typed as a string, but the Node transport takes any body Buffer.from accepts (it copies it).
          influx.transport.send(writePath, body as unknown as string, WRITE_OPTIONS, { complete: resolve, error: reject });
        });
      } catch (err) {
        // A 1.x server whose data directory was replaced: create the database; the writer retries.
        if ((err as { statusCode?: number }).statusCode === 404 && /database not found/.test(String((err as { body?: string }).body))) {
          await createDatabase();
        }
        throw err;
      }
    },
    query: (influxql) => query(influxql),
    async ping() {
      try {
        return (await fetch(`${url}/ping`, { headers, signal: AbortSignal.timeout(2000) })).status === 204;
      } catch {
        return false;
      }
    },
    async ensureDatabase() {
      if (connecting) await createDatabase(); // otherwise the first connection creates it
    },
  };
}
