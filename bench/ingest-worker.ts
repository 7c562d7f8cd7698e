import mqtt, { type MqttClient } from 'mqtt';

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

/** Normal values only: the bench measures the data path, not alert creation. */
function payload(ts: number): string {
  if (job.perMessage === 1) return `{"type":"heart_rate","bpm":${60 + (ts % 40)},"ts":${ts}}`;
  let body = '{"readings":[';
  for (let k = 0; k < job.perMessage; k++) {
    body += `${k ? ',' : ''}{"type":"heart_rate","bpm":${60 + ((ts + k) % 40)},"ts":${ts + k}}`;
  }
  return `${body}]}`;
}

let messages = 0;
const cpu0 = process.cpuUsage();
const startedAt = Date.now();
const deadline = startedAt + job.durationMs;
await Promise.all(clients.map(async (client, i) => {
  const topic = `dh/v1/devices/${job.devices[i]!.id}/readings`;
  let next = job.baseTs;
  const lane = async () => {
    while (Date.now() < deadline) {
      const ts = next;
      next += job.perMessage;
      await client.publishAsync(topic, payload(ts), { qos: 1 });
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
