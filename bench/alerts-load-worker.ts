import mqtt, { type MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import type { Alert } from '../core/schemas/alert.js';

/**
 * Paced readings over MQTT and a console socket, in their own process so the
 * load and the measurement do not share the platform's event loop. Reads a
 * JSON job from argv[2], prints one JSON result line.
 *
 * Latency is publish → socket `alert` event. Each abnormal device sends only
 * abnormal readings, so its k-th one is the alert's count k: an event with
 * count c settles every reading k ≤ c of that resident still waiting.
 */
export interface AlertLoadJob {
  mqttUrl: string;
  httpUrl: string;
  token: string;
  normal: { id: string; secret: string }[];
  abnormal: { id: string; secret: string; residentId: string }[];
  readingsPerSecond: number;
  abnormalEvery: number; // one reading in this many is abnormal
  warmupSeconds: number; // sent at the same rate, not measured (connections, JIT, first commits)
  seconds: number;
}

export interface AlertLoadResult {
  sent: number;
  acked: number;
  seconds: number;
  abnormalSent: number;
  settled: number;
  latencyMs: { p50: number; p99: number; max: number };
  warmupMaxMs: number;
}

const job = JSON.parse(process.argv[2]!) as AlertLoadJob;
const connect = (d: { id: string; secret: string }) =>
  mqtt.connectAsync(job.mqttUrl, { clientId: d.id, username: d.id, password: d.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000 });
const normal: MqttClient[] = [];
for (let i = 0; i < job.normal.length; i += 50) normal.push(...(await Promise.all(job.normal.slice(i, i + 50).map(connect))));
const abnormal: MqttClient[] = await Promise.all(job.abnormal.map(connect));

const waiting = new Map<string, { count: number; sentAt: number; measured: boolean }[]>(); // residentId → readings not yet seen on the console
const latencies: number[] = [];
let warmupMaxMs = 0;
const socket = io(`${job.httpUrl}/console`, { auth: { token: job.token }, transports: ['websocket'], reconnection: false, forceNew: true });
socket.on('alert', (alert: Alert) => {
  const now = Date.now();
  const list = waiting.get(alert.residentId);
  if (!list) return;
  while (list.length > 0 && list[0]!.count <= alert.count) {
    const reading = list.shift()!;
    if (reading.measured) latencies.push(now - reading.sentAt);
    else warmupMaxMs = Math.max(warmupMaxMs, now - reading.sentAt);
  }
});
await new Promise<void>((resolve, reject) => {
  socket.once('ready', () => resolve());
  socket.once('connect_error', reject);
});

const normalPayload = JSON.stringify({ type: 'spo2', spo2: 97, pulse: 72 });
const abnormalPayload = JSON.stringify({ type: 'spo2', spo2: 93 });
const abnormalCount = job.abnormal.map(() => 0);
let sent = 0;
let acked = 0;
let abnormalSent = 0;
let measuredAbnormal = 0;
const onAck = (err?: Error) => {
  if (!err) acked++;
};

const started = Date.now();
const measureFrom = started + job.warmupSeconds * 1000;
const total = job.readingsPerSecond * (job.warmupSeconds + job.seconds);
await new Promise<void>((resolve) => {
  // Paced by the wall clock, not by the timer's own rhythm: a late tick sends what is due.
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * job.readingsPerSecond));
    while (sent < due) {
      if (sent % job.abnormalEvery === job.abnormalEvery - 1) {
        const i = abnormalSent++ % abnormal.length;
        const { id, residentId } = job.abnormal[i]!;
        const count = ++abnormalCount[i]!;
        let list = waiting.get(residentId);
        if (!list) waiting.set(residentId, (list = []));
        const sentAt = Date.now();
        const measured = sentAt >= measureFrom;
        if (measured) measuredAbnormal++;
        list.push({ count, sentAt, measured });
        abnormal[i]!.publish(`dh/v1/devices/${id}/readings`, abnormalPayload, { qos: 1 }, onAck);
      } else {
        const i = sent % normal.length;
        normal[i]!.publish(`dh/v1/devices/${job.normal[i]!.id}/readings`, normalPayload, { qos: 1 }, onAck);
      }
      sent++;
    }
    if (sent >= total) {
      clearInterval(timer);
      resolve();
    }
  }, 5);
});
const seconds = (Date.now() - measureFrom) / 1000;

// Give the last readings a bounded time to come back.
const deadline = Date.now() + 5000;
while (Date.now() < deadline && (acked < sent || latencies.length < measuredAbnormal)) await new Promise((r) => setTimeout(r, 20));
socket.disconnect();
await Promise.all([...normal, ...abnormal].map((c) => c.endAsync()));

latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
const result: AlertLoadResult = {
  sent, acked, seconds, abnormalSent: measuredAbnormal, settled: latencies.length, latencyMs: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN }, warmupMaxMs,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
