import mqtt, { type MqttClient } from 'mqtt';

/**
 * A QoS 1 publisher fleet in its own process, so the load does not share the
 * event loop of the broker it measures. Reads a JSON job from argv[2], prints
 * one JSON result line: {messages, seconds, latencyMs: {p50, p99}}.
 */
interface Job {
  url: string;
  devices: { id: string; secret?: string }[];
  messagesPerDevice: number;
  inFlightPerDevice: number;
  payload: string;
}

const job = JSON.parse(process.argv[2]!) as Job;
const clients: MqttClient[] = await Promise.all(
  job.devices.map((d) =>
    mqtt.connectAsync(job.url, {
      clientId: d.id, ...(d.secret ? { username: d.id, password: d.secret } : {}), protocolVersion: 4, reconnectPeriod: 0,
    }),
  ),
);
const latencies: number[] = [];
const started = performance.now();
await Promise.all(
  clients.map(async (client, i) => {
    const topic = `dh/v1/devices/${job.devices[i]!.id}/readings`;
    let next = 0;
    const lane = async () => {
      while (next < job.messagesPerDevice) {
        next++;
        const t0 = performance.now();
        await client.publishAsync(topic, job.payload, { qos: 1 });
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: job.inFlightPerDevice }, lane));
  }),
);
const seconds = (performance.now() - started) / 1000;
await Promise.all(clients.map((c) => c.endAsync()));
latencies.sort((a, b) => a - b);
const at = (q: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2));
process.stdout.write(`${JSON.stringify({ messages: latencies.length, seconds, latencyMs: { p50: at(0.5), p99: at(0.99) } })}\n`);
