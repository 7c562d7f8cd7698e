import mqtt, { type MqttClient } from 'mqtt';

/**
 * Open-loop device fleet for the scaling bench and the soak, in its own
 * process: devices `prefix-first … prefix-(first+count-1)` (one shared
 * secret) each publish one heart-rate reading at QoS 1 `perDeviceRate` times
 * a second, whatever the latency (a device with `maxInFlight` unacknowledged
 * messages skips its turn, counted as `behind`). Each reading has its own
 * `ts` (baseTs + a per-device counter), so InfluxQL counts are exact.
 *
 * With `reconnect`, a device whose connection drops (the platform restarted on
 * the same port) reconnects every half second (mqtt.js's own reconnection) and
 * resends its unacknowledged messages from mqtt.js's outgoing store, the way a
 * real device does.
 *
 * Runs for `durationMs`, waits up to `drainMs` for outstanding PUBACKs, then
 * prints one JSON line: {sent, acked, failed, behind, unacked, startedAt, finishedAt, cpuSeconds}.
 * With `progress`, also prints `{"progress": {...}}` lines every second on stderr.
 */
export interface RateJob {
  url: string;
  prefix: string;
  first: number;
  count: number;
  secret: string;
  perDeviceRate: number;
  durationMs: number;
  baseTs: number;
  maxInFlight?: number;
  drainMs?: number;
  reconnect?: boolean;
  progress?: boolean;
}

export interface RateResult {
  sent: number;
  acked: number;
  /** Publishes mqtt.js gave up on (connection closed without reconnection): not acknowledged. */
  failed: number;
  behind: number;
  /** sent - acked: never acknowledged, failed or still waiting at the end of the drain. */
  unacked: number;
  startedAt: number;
  finishedAt: number;
  cpuSeconds: number;
}

const job = JSON.parse(process.argv[2]!) as RateJob;
const maxInFlight = job.maxInFlight ?? 20;

interface Device {
  id: string;
  client: MqttClient;
  next: number;
  due: number;
  inFlight: number;
}

let sent = 0;
let acked = 0;
let failed = 0;
let behind = 0;

function connect(id: string): Promise<MqttClient> {
  return mqtt.connectAsync(job.url, {
    clientId: id, username: id, password: job.secret, protocolVersion: 4, clean: true, keepalive: 60, connectTimeout: 30_000,
    // With reconnection, mqtt.js keeps the callbacks of unacknowledged messages across a drop and resends
    // them from its outgoing store after CONNACK; without it (reconnectPeriod 0 and clean) it fails them.
    reconnectPeriod: job.reconnect ? 500 : 0,
  });
}

const devices: Device[] = [];
let nextIndex = 0;
async function connectLane(): Promise<void> {
  while (nextIndex < job.count) {
    const id = `${job.prefix}-${job.first + nextIndex++}`;
    devices.push({ id, client: await connect(id), next: job.baseTs, due: 0, inFlight: 0 });
  }
}
await Promise.all(Array.from({ length: 64 }, connectLane));

for (const d of devices) d.client.on('error', () => {});

const cpu0 = process.cpuUsage();
const startedAt = Date.now();
const deadline = startedAt + job.durationMs;
const topicOf = (id: string) => `dh/v1/devices/${id}/readings`;

await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const now = Date.now();
    if (now >= deadline) {
      clearInterval(tick);
      resolve();
      return;
    }
    const target = Math.floor(((now - startedAt) / 1000) * job.perDeviceRate);
    for (const d of devices) {
      while (d.due < target) {
        d.due++;
        if (d.inFlight >= maxInFlight || !d.client.connected) {
          behind++;
          continue;
        }
        const ts = d.next++;
        d.inFlight++;
        sent++;
        d.client.publish(topicOf(d.id), `{"type":"heart_rate","bpm":${60 + (ts % 40)},"ts":${ts}}`, { qos: 1 }, (err) => {
          d.inFlight--;
          if (err) failed++;
          else acked++;
        });
      }
    }
  }, 10);
  if (job.progress) {
    const report = setInterval(() => {
      process.stderr.write(`${JSON.stringify({ progress: { sent, acked, behind, at: Date.now() } })}\n`);
      if (Date.now() >= deadline) clearInterval(report);
    }, 1000);
  }
});
const finishedAt = Date.now();
const drainUntil = Date.now() + (job.drainMs ?? 60_000);
while (acked + failed < sent && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
const cpu = process.cpuUsage(cpu0);
await Promise.all(devices.map((d) => d.client.endAsync(true).catch(() => {})));
const result: RateResult = { sent, acked, failed, behind, unacked: sent - acked, startedAt, finishedAt, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
