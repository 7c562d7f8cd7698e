import mqtt, { type MqttClient } from 'mqtt';
import { offsetsAfter, writeDigits, writeEpochMs } from './digits.js';

/**
 * The ingest bench's device fleet, in its own process so it does not share an
 * event loop with the platform it measures. Reads a JSON job from argv[2];
 * every device publishes QoS 1 messages of `perMessage` readings (distinct
 * `ts` per device, 1 ms apart) with `window` messages in flight, for
 * `durationMs`, then waits for the last PUBACKs. Prints one JSON line:
 * {messages, readings, startedAt, finishedAt (epoch ms), cpuSeconds}.
 */
export interface IngestJob {
  url: string;
  devices: { id: string; secret: string }[];
  perMessage: number;
  window: number;
  durationMs: number;
  baseTs: number;
}

export interface IngestLoadResult {
  messages: number;
  readings: number;
  startedAt: number;
  finishedAt: number;
  cpuSeconds: number;
}

const job = JSON.parse(process.argv[2]!) as IngestJob;
const clients: MqttClient[] = [];
for (let i = 0; i < job.devices.length; i += 50) {
  clients.push(...(await Promise.all(job.devices.slice(i, i + 50).map((d) =>
    mqtt.connectAsync(job.url, { clientId: d.id, username: d.id, password: d.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000 })))));
}

/**
 * One lane's payload, written in place for each message: every reading has a
 * two-digit bpm and a 13-digit ts, so a message differs from the last only in
 * those digits. Building 100 readings as a string per message was most of the
 * fleet's CPU, which shares the two cores with what the bench measures.
 * Normal values only: the bench measures the data path, not alert creation.
 * A lane awaits its PUBACK before it writes the next message, so the bytes it
 * rewrites have been sent.
 */
class LanePayload {
  private readonly bytes: Buffer;
  private readonly digitsAt: number[]; // offset of each reading's bpm; its ts follows at a fixed distance

  constructor(readonly perMessage: number, baseTs: number) {
    const reading = (ts: number) => `{"type":"heart_rate","bpm":60,"ts":${ts}}`;
    if (String(baseTs).length !== 13) throw new Error('ts must have 13 digits');
    const text = perMessage === 1 ? reading(baseTs) : `{"readings":[${Array.from({ length: perMessage }, () => reading(baseTs)).join(',')}]}`;
    this.bytes = Buffer.from(text);
    this.digitsAt = offsetsAfter(text, '"bpm":');
  }

  /** The message whose first reading has `ts` (then ts + 1, …). */
  at(ts: number): Buffer {
    for (let k = 0; k < this.perMessage; k++) {
      const bpmAt = this.digitsAt[k]!;
      writeDigits(this.bytes, bpmAt, 60 + ((ts + k) % 40), 2);
      writeEpochMs(this.bytes, bpmAt + 8, ts + k); // after `60,"ts":`
    }
    return this.bytes;
  }
}

let messages = 0;
const cpu0 = process.cpuUsage();
const startedAt = Date.now();
const deadline = startedAt + job.durationMs;
await Promise.all(clients.map(async (client, i) => {
  const topic = `dh/v1/devices/${job.devices[i]!.id}/readings`;
  let next = job.baseTs;
  const lane = async () => {
    const payload = new LanePayload(job.perMessage, job.baseTs);
    while (Date.now() < deadline) {
      const ts = next;
      next += job.perMessage;
      await client.publishAsync(topic, payload.at(ts), { qos: 1 });
      messages++;
    }
  };
  await Promise.all(Array.from({ length: job.window }, lane));
}));
const finishedAt = Date.now();
await Promise.all(clients.map((c) => c.endAsync()));
const cpu = process.cpuUsage(cpu0);
const result: IngestLoadResult = { messages, readings: messages * job.perMessage, startedAt, finishedAt, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(`${JSON.stringify(result)}\n`);
