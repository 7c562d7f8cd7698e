import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../core/bus.js';
import { FakeClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import { waitFor } from '../core/net.js';
import { openDb } from '../core/sqlite.js';
import type { Observation } from '../core/schemas/observation.js';
import type { InfluxClient } from '../influx/client.js';
import { startIngest, type Ingest, type IngestDeps } from './index.js';
import { splitLines } from './line-protocol.js';
import { payloadDigest } from './receipts.js';

const device = { deviceId: 'd_test', residentId: 'r_test', dong: '1111051500' };
const log = createLogger('silent');

/** An InfluxDB stand-in that keeps the lines it acknowledged and can be switched off. */
class FakeInflux implements InfluxClient {
  readonly url = 'http://fake';
  readonly version = 'fake';
  up = true;
  lines: string[] = [];
  requests = 0;
  refuse: (line: string) => boolean = () => false;
  stall: Promise<void> | undefined; // a slow InfluxDB: writes wait for it
  afterWrite: () => void = () => {};
  async writeLines(body: Buffer) {
    this.requests++;
    await this.stall;
    if (!this.up) throw new Error('connect ECONNREFUSED');
    const lines = splitLines(body).map((line) => line.toString('utf8', 0, line.length - 1));
    if (lines.some(this.refuse)) throw Object.assign(new Error('unable to parse'), { statusCode: 400, body: '{"error":"unable to parse"}' });
    this.lines.push(...lines);
    this.afterWrite();
  }
  async query() {
    return [];
  }
  async ping() {
    return this.up;
  }
  async ensureDatabase() {}
}

const reading = (i: number, clock: FakeClock) => ({ type: 'heart_rate', bpm: 60 + (i % 40), ts: clock.now() - 10_000 + i });
const payload = (body: unknown) => Buffer.from(JSON.stringify(body));

describe('ingest: outbox, writer and replay', () => {
  let dataDir: string;
  let clock: FakeClock;
  let influx: FakeInflux;
  let ingest: Ingest | undefined;
  let published: Observation[];
  let bus: ReturnType<typeof createInProcessBus>;

  const start = (extra: Partial<IngestDeps> = {}) => {
    ingest = startIngest({
      dataDir, bus, clock, log, metrics: createMetrics(), influx,
      writer: { minBackoffMs: 10, maxBackoffMs: 20, idlePingMs: 20 }, ...extra,
    });
    return ingest;
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'dh-ingest-'));
    clock = new FakeClock(Date.now());
    influx = new FakeInflux();
    published = [];
    bus = createInProcessBus((_t, err) => {
      throw err;
    });
    // One observation per reading, as the engine sees them.
    bus.subscribe('observations', (messages) => {
      for (const { readings, firstOutboxId, ...identity } of messages) {
        readings.forEach((r, k) => published.push({ ...identity, ...r, outboxId: firstOutboxId! + k }));
      }
    });
  });
  afterEach(async () => {
    await ingest?.close();
    ingest = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives every reading of a batch its own outboxId, increasing, and publishes them in order', async () => {
    const ing = start();
    await ing.accept(device, payload({ readings: [reading(1, clock), reading(2, clock), reading(3, clock)] }));
    await ing.accept(device, payload(reading(4, clock)));
    expect(published.map((o) => o.outboxId)).toEqual([1, 2, 3, 4]);
    expect(published.map((o) => o.fields.bpm)).toEqual([61, 62, 63, 64]);
  });

  it('counts accepted readings by type', async () => {
    const metrics = createMetrics();
    const ing = start({ metrics });
    await ing.accept(device, payload({ readings: [reading(1, clock), reading(2, clock), { type: 'spo2', spo2: 97 }, reading(3, clock), { type: 'spo2', spo2: 500 }] }));
    const { values } = await metrics.ingestAccepted.get();
    expect(Object.fromEntries(values.map((v) => [v.labels.type, v.value]))).toEqual({ heart_rate: 3, spo2: 1 });
  });

  it('keeps every message of a large group commit, in order', async () => {
    let ing = start({ consumerCursor: () => 0 });
    await Promise.all(Array.from({ length: 70 }, (_, i) => ing.accept(device, payload(reading(i, clock))))); // one commit: 32 + 32 + 6 rows
    await waitFor(() => influx.lines.length === 70, 5000, 'the writer');
    await ing.close();
    published.length = 0;
    ing = start({ consumerCursor: () => 0 });
    expect(ing.replay(0)).toBe(70);
    expect(published.map((o) => [o.outboxId, o.fields.bpm])).toEqual(Array.from({ length: 70 }, (_, i) => [i + 1, 60 + (i % 40)]));
  });

  it('never reuses an outboxId after a restart, even when the outbox was emptied', async () => {
    let ing = start();
    await ing.accept(device, payload({ readings: [reading(1, clock), reading(2, clock)] }));
    await waitFor(() => influx.lines.length === 2 && ing.health().backlog === 0, 5000, 'the writer');
    await ing.close();
    ing = start();
    await ing.accept(device, payload(reading(3, clock)));
    expect(published.at(-1)!.outboxId).toBe(3);
  });

  it('keeps readings InfluxDB has until the consumer cursor passes them, without sending them again', async () => {
    let cursor = 0;
    const ing = start({ consumerCursor: () => cursor });
    for (let i = 0; i < 5; i++) await ing.accept(device, payload(reading(i, clock)));
    await waitFor(() => influx.lines.length === 5, 5000, 'the writer');
    const requests = influx.requests;
    expect(ing.replay(0)).toBe(5); // nothing deleted: the consumer has made nothing durable
    cursor = 3;
    await waitFor(() => ing.replay(0) === 2, 5000, 'rows up to the cursor deleted');
    expect(published.slice(-2).map((o) => o.outboxId)).toEqual([4, 5]);
    expect(influx.requests).toBe(requests); // acknowledged rows are not re-sent while they wait for the cursor
    expect(influx.lines).toHaveLength(5);
    cursor = 5;
    await waitFor(() => ing.replay(0) === 0, 5000, 'all rows deleted');
  });

  it('replays only the observations after the cursor, also from the middle of a batch', async () => {
    const ing = start({ consumerCursor: () => 0 });
    await ing.accept(device, payload({ readings: [reading(1, clock), reading(2, clock), reading(3, clock)] }));
    await ing.accept(device, payload(reading(4, clock)));
    published.length = 0;
    expect(ing.replay(2)).toBe(2);
    expect(published.map((o) => [o.outboxId, o.fields.bpm, o.deviceId])).toEqual([[3, 63, 'd_test'], [4, 64, 'd_test']]);
  });

  it('replays after a restart what the consumer had not made durable', async () => {
    let ing = start({ consumerCursor: () => 1 });
    await ing.accept(device, payload({ readings: [reading(1, clock), reading(2, clock), reading(3, clock)] }));
    await ing.close();
    published.length = 0;
    ing = start({ consumerCursor: () => 1 });
    expect(ing.replay(1)).toBe(2);
    expect(published.map((o) => o.outboxId)).toEqual([2, 3]);
    expect(published[0]!.receivedAt).toBe(clock.now());
  });

  it('replays a stored message as it was accepted: the good readings of a mixed batch, a missing ts as the receipt time', async () => {
    let ing = start({ consumerCursor: () => 0 });
    const body = payload({ readings: [{ type: 'spo2', spo2: 101 }, { type: 'spo2', spo2: 93 }, { type: 'heart_rate', bpm: 72, ts: clock.now() - 5000.7 }] });
    await ing.accept(device, body);
    const accepted = published.map(({ type, ts, fields, outboxId }) => ({ type, ts, fields, outboxId }));
    await ing.close();
    clock.advance(60_000); // replay validates with the receipt time, not now
    published.length = 0;
    ing = start({ consumerCursor: () => 0 });
    expect(ing.replay(0)).toBe(2);
    expect(published.map(({ type, ts, fields, outboxId }) => ({ type, ts, fields, outboxId }))).toEqual(accepted);
    expect(accepted.map((o) => o.ts)).toEqual([clock.now() - 60_000, Math.trunc(clock.now() - 65_000.7)]);
  });

  it('keeps everything while InfluxDB is away and writes each reading once it is back', async () => {
    influx.up = false;
    const ing = start({ outbox: { memoryReadings: 50 } }); // most rows must come back from disk
    for (let i = 0; i < 30; i++) {
      await ing.accept(device, payload({ readings: Array.from({ length: 10 }, (_, k) => reading(i * 10 + k, clock)) }));
    }
    await waitFor(() => !ing.health().influxReachable, 5000, 'the writer to notice');
    expect(ing.health().backlog).toBe(300);
    influx.up = true;
    await waitFor(() => ing.health().backlog === 0, 5000, 'the backlog to drain');
    expect(new Set(influx.lines).size).toBe(300);
    expect(ing.health().influxReachable).toBe(true);
  });

  it('holds an append while the lines in memory fill their budget and InfluxDB drains, until the writer catches up', async () => {
    let unstall!: () => void;
    influx.stall = new Promise((resolve) => (unstall = resolve));
    const metrics = createMetrics();
    const ing = start({ metrics, outbox: { memoryReadings: 20, holdMs: 60_000 } });
    const batch = (from: number) => payload({ readings: Array.from({ length: 10 }, (_, k) => reading(from + k, clock)) });
    await ing.accept(device, batch(0));
    await ing.accept(device, batch(10));
    let accepted = false;
    const held = ing.accept(device, payload(reading(20, clock))).then(() => (accepted = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(accepted).toBe(false); // not durable yet, so no PUBACK
    expect(published).toHaveLength(20);
    expect((await metrics.appendsWaited.get()).values[0]?.value).toBe(1);
    unstall();
    await held;
    expect(published.map((o) => o.outboxId)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    await waitFor(() => influx.lines.length === 21, 5000, 'the writer');
  });

  it('holds an append no longer than holdMs, then keeps it and reads its line back from disk', async () => {
    let unstall!: () => void;
    influx.stall = new Promise((resolve) => (unstall = resolve));
    const ing = start({ outbox: { memoryReadings: 10, holdMs: 50 } });
    await ing.accept(device, payload({ readings: Array.from({ length: 10 }, (_, k) => reading(k, clock)) }));
    await ing.accept(device, payload(reading(10, clock))); // resolves while InfluxDB still stalls
    expect(published).toHaveLength(11);
    unstall();
    await waitFor(() => ing.health().backlog === 0, 5000, 'the backlog to drain');
    expect(new Set(influx.lines).size).toBe(11);
  });

  it('never holds an append while InfluxDB is away', async () => {
    influx.up = false;
    const ing = start({ outbox: { memoryReadings: 10, holdMs: 60_000 } });
    await waitFor(() => !ing.health().influxReachable, 5000, 'the writer to notice');
    for (let i = 0; i < 5; i++) await ing.accept(device, payload({ readings: Array.from({ length: 10 }, (_, k) => reading(i * 10 + k, clock)) }));
    expect(ing.health().backlog).toBe(50);
    influx.up = true;
    await waitFor(() => ing.health().backlog === 0, 5000, 'the backlog to drain');
    expect(new Set(influx.lines).size).toBe(50);
  });

  it('does not hold appends while rows wait on disk after an outage: the writer reads the disk anyway', async () => {
    influx.up = false;
    const ing = start({ outbox: { memoryReadings: 10, holdMs: 60_000 }, writer: { batchSize: 10, inFlight: 1, minBackoffMs: 10, maxBackoffMs: 20, idlePingMs: 20 } });
    const batch = (from: number) => payload({ readings: Array.from({ length: 10 }, (_, k) => reading(from + k, clock)) });
    for (let i = 0; i < 3; i++) await ing.accept(device, batch(i * 10)); // 30 readings, 10 of them in memory
    let unstall!: () => void;
    influx.afterWrite = () => (influx.stall ??= new Promise((resolve) => (unstall = resolve))); // InfluxDB back, then slow
    influx.up = true;
    await waitFor(() => influx.lines.length === 10 && ing.health().influxReachable, 5000, 'the first batch after the outage');
    await ing.accept(device, batch(30)); // no room in memory, but rows wait on disk: no wait for the stalled writer
    expect(published).toHaveLength(40);
    unstall();
    await waitFor(() => ing.health().backlog === 0, 5000, 'the backlog to drain');
    expect(new Set(influx.lines).size).toBe(40);
  });

  it('sends intact lines while InfluxDB stalls and the slabs around the stalled requests are reused', async () => {
    // The stalled requests' rows leave memory (small budget), more messages fill several 1 MiB
    // slabs, and the slabs whose blocks are all given back are written over: the requests must
    // still hold theirs (InfluxWriter.send), or their bodies change before InfluxDB reads them.
    let unstall!: () => void;
    influx.stall = new Promise((resolve) => (unstall = resolve));
    const ing = start({ outbox: { memoryReadings: 1000, holdMs: 1 } });
    const base = clock.now() - 60_000;
    const messages = 330; // ~9.5 KB of lines each: ~3 MiB, past three slabs
    for (let m = 0; m < messages; m++) {
      await ing.accept(device, payload({ readings: Array.from({ length: 100 }, (_, k) => ({ type: 'heart_rate', bpm: 60 + ((m * 100 + k) % 40), ts: base + m * 100 + k })) }));
    }
    expect(influx.requests).toBeGreaterThan(0); // requests were waiting on the stall all along
    unstall();
    await waitFor(() => ing.health().backlog === 0, 10_000, 'the backlog to drain');
    const seen = new Set<number>();
    for (const line of influx.lines) {
      const [, bpm, ts] = /bpm=(\d+) (\d+)$/.exec(line)!;
      const i = Number(ts) - base;
      expect(Number(bpm)).toBe(60 + (i % 40));
      seen.add(i);
    }
    expect(seen.size).toBe(messages * 100);
    expect(influx.lines).toHaveLength(messages * 100);
  });

  it('drops only the line InfluxDB refuses and stores the rest of its batch', async () => {
    influx.refuse = (line) => line.includes('bpm=77');
    const ing = start();
    await ing.accept(device, payload({ readings: Array.from({ length: 20 }, (_, k) => reading(k, clock)) }));
    await waitFor(() => ing.health().backlog === 0, 5000, 'the backlog to drain');
    expect(influx.lines).toHaveLength(19);
    expect(influx.lines.some((l) => l.includes('bpm=77'))).toBe(false);
  });

  it('stamps a redelivered reading without ts with its first receipt time', async () => {
    const ing = start();
    const body = payload({ type: 'motion', detected: true });
    await ing.accept(device, body, { qos: 1, messageId: 7 });
    clock.advance(30_000);
    await ing.accept(device, body, { qos: 1, messageId: 7 }); // redelivery
    await ing.accept(device, body, { qos: 1, messageId: 8 }); // a new message
    expect(published.map((o) => o.ts)).toEqual([clock.now() - 30_000, clock.now() - 30_000, clock.now()]);
  });

  it('remembers receipt times across a restart', async () => {
    let ing = start();
    const body = payload({ type: 'checkin_button' });
    await ing.accept(device, body, { qos: 1, messageId: 42 });
    const first = published[0]!.ts;
    await ing.close();
    clock.advance(5000);
    ing = start();
    await ing.accept(device, body, { qos: 1, messageId: 42 });
    expect(published[1]!.ts).toBe(first);
  });

  it('keeps at least the newest receiptsKept receipt times on disk, one row per commit', async () => {
    let ing = start({ outbox: { receiptsKept: 3 } });
    for (let id = 1; id <= 5; id++) await ing.accept(device, payload({ type: 'checkin_button' }), { qos: 1, messageId: id });
    const stamped = published.map((o) => o.ts);
    await ing.close();
    const db = openDb(join(dataDir, 'outbox.db'));
    expect(db.prepare('SELECT SUM(n) AS n, COUNT(*) AS rows FROM receipt_groups').get()).toEqual({ n: 3, rows: 3 });
    db.close();
    clock.advance(5000);
    published.length = 0;
    ing = start();
    for (let id = 1; id <= 5; id++) await ing.accept(device, payload({ type: 'checkin_button' }), { qos: 1, messageId: id });
    expect(published.map((o) => o.ts)).toEqual([clock.now(), clock.now(), ...stamped.slice(2)]); // ids 1 and 2 were forgotten
  });

  it('takes over the receipt times of the first receipt table', async () => {
    const db = openDb(join(dataDir, 'outbox.db'));
    db.exec('CREATE TABLE receipts (slot INTEGER PRIMARY KEY, key TEXT NOT NULL, digest TEXT NOT NULL, at INTEGER NOT NULL)');
    const body = payload({ type: 'checkin_button' });
    db.prepare('INSERT INTO receipts VALUES (0, ?, ?, ?)').run(`${device.deviceId}\n9`, payloadDigest(body), clock.now() - 1000);
    db.close();
    const ing = start();
    await ing.accept(device, body, { qos: 1, messageId: 9 });
    expect(published[0]!.ts).toBe(clock.now() - 1000);
  });

  it('moves the rows of the first outbox (one line each) over and writes them', async () => {
    const db = openDb(join(dataDir, 'outbox.db'));
    db.exec('CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, line TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO outbox (at, line) VALUES (?, ?)');
    insert.run(clock.now(), 'motion,device=d_old,dong=1111051500,resident=r_old,type=motion detected=t 1764201600000');
    insert.run(clock.now(), 'motion,device=d_old,dong=1111051500,resident=r_old,type=motion detected=f 1764201600001');
    db.close();
    const ing = start({ consumerCursor: () => 0 }); // keep every row for the replay below
    await waitFor(() => influx.lines.length === 2, 5000, 'the old lines in InfluxDB');
    expect(influx.lines[0]).toMatch(/^motion,device=d_old/);
    await ing.accept(device, payload(reading(1, clock)));
    expect(published[0]!.outboxId).toBe(3);
    expect(ing.replay(0)).toBe(1); // the old rows have no observations to replay
  });

  it('reads back the rows of earlier outboxes, the payload as received and JSON readings, and writes and replays them', async () => {
    const db = openDb(join(dataDir, 'outbox.db'));
    db.exec(`CREATE TABLE outbox_rows (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, at INTEGER NOT NULL,
      device TEXT NOT NULL, resident TEXT NOT NULL, dong TEXT NOT NULL, readings TEXT, lines TEXT, payload BLOB)`);
    const at = clock.now() - 5000;
    const insert = db.prepare('INSERT INTO outbox_rows (id, n, at, device, resident, dong, readings, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run(1, 2, at, 'd_old', 'r_old', '1111051500', null, payload({ readings: [{ type: 'spo2', spo2: 93 }, { type: 'spo2', spo2: 500 }, { type: 'heart_rate', bpm: 71, ts: at - 1 }] }));
    insert.run(3, 1, at, 'd_old', 'r_old', '1111051500', JSON.stringify([{ type: 'motion', ts: at - 2, fields: { detected: true } }]), null);
    db.close();
    const ing = start({ consumerCursor: () => 0 });
    await waitFor(() => influx.lines.length === 3, 5000, 'the old rows in InfluxDB');
    expect(influx.lines.map((l) => l.split(' ').slice(1))).toEqual([['spo2=93', String(at)], ['bpm=71', String(at - 1)], ['detected=t', String(at - 2)]]);
    expect(ing.replay(0)).toBe(3);
    expect(published.map(({ outboxId, type, ts }) => [outboxId, type, ts])).toEqual([[1, 'spo2', at], [2, 'heart_rate', at - 1], [3, 'motion', at - 2]]);
    await ing.accept(device, payload(reading(1, clock)));
    expect(published.at(-1)!.outboxId).toBe(4);
  });

  it('truncates a fractional epoch-ms ts so InfluxDB accepts the point', async () => {
    const ing = start();
    await ing.accept(device, payload({ type: 'spo2', spo2: 97, ts: clock.now() - 1000.5 }));
    await waitFor(() => influx.lines.length === 1, 5000, 'the writer');
    expect(influx.lines[0]).toMatch(/ \d+$/);
    expect(published[0]!.ts).toBe(Math.trunc(clock.now() - 1000.5));
  });
});
