import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import type { ReadingType, ValidReading } from '../core/schemas/readings.js';
import type { DeviceIdentity } from '../ingest/index.js';
import { joinBlocks, readingLines, releaseBlock } from '../ingest/line-protocol.js';

/**
 * The ingest bench's floor: the least an MQTT → InfluxDB path built on aedes does. Every
 * publish is JSON-parsed, written as line protocol (the platform's own writer) and PUBACKed
 * at once while fewer than MAX_QUEUED points wait; bodies of 5,000 points go to influxd with up to 4 in flight, as the raw writer
 * sends them. No validation, no outbox, no fsync, no alerts, no metrics: what it reaches
 * against raw on the same cores bounds what any platform that does those can reach.
 *
 * Forked by bench/ingest.ts with argv [influxUrl, db, port]; says 'ready' when it listens and
 * answers 'written' with how many points influxd has acknowledged (204).
 */
const [influxUrl, db, port] = process.argv.slice(2) as [string, string, string];
const BODY_POINTS = 5000;
const IN_FLIGHT = 4;
const FLUSH_MS = 20; // what is left when the fleet stops goes out in a smaller body
// Beyond this many points waiting, PUBACKs wait for room (as the platform's appends do): without it
// the queue, and the forwarder's GC, grow for as long as the fleet outpaces influxd.
const MAX_QUEUED = 8 * BODY_POINTS;
const held: (() => void)[] = [];

const url = new URL(`${influxUrl}/write?db=${db}&precision=ms`);
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
// One block per message, oldest first, with its point count: a body takes whole blocks up to BODY_POINTS.
let blocks: { lines: Buffer; points: number }[] = [];
let queued = 0;
let inFlight = 0;
let written = 0;
let failed = 0;

function send(): void {
  let points = 0;
  let taken = 0;
  while (taken < blocks.length && points < BODY_POINTS) points += blocks[taken++]!.points;
  const lines = blocks.slice(0, taken).map((b) => b.lines);
  const body = joinBlocks(lines);
  blocks = blocks.slice(taken);
  queued -= points;
  inFlight++;
  const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      if (res.statusCode === 204) {
        written += points;
        for (const block of lines) releaseBlock(block); // its slab can be reused, as the platform's writer does
      } else {
        failed += points;
      }
      pump();
      while (held.length > 0 && queued <= MAX_QUEUED) held.shift()!();
    });
  });
  req.on('error', () => {
    inFlight--;
    failed += points;
  });
  req.end(body);
}

function pump(): void {
  while (inFlight < IN_FLIGHT && queued >= BODY_POINTS) send();
}

setInterval(() => {
  if (inFlight === 0 && queued > 0) send();
}, FLUSH_MS);

const DONG = '1111051500'; // BENCH_DONG, not imported: bench/support.ts loads the whole platform
const identities = new Map<string, DeviceIdentity>();
const broker = await Aedes.createBroker({
  authenticate: (_client, _username, _password, done) => done(null, true),
  authorizePublish: (client, packet, done) => {
    const id = client?.id ?? '';
    let device = identities.get(id);
    if (!device) identities.set(id, (device = { deviceId: id, residentId: `r-${id}`, dong: DONG }));
    const body = JSON.parse(packet.payload.toString()) as { readings?: Record<string, unknown>[] } & Record<string, unknown>;
    const readings: ValidReading[] = (body.readings ?? [body]).map((r) => ({ type: r.type as ReadingType, ts: r.ts as number, fields: { bpm: r.bpm as number } }));
    blocks.push({ lines: readingLines(device, readings), points: readings.length });
    queued += readings.length;
    pump();
    if (queued > MAX_QUEUED) held.push(() => done(null));
    else done(null);
  },
});

createServer(broker.handle).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
process.on('message', (message) => {
  if (message === 'written') process.send?.({ written, failed });
});
