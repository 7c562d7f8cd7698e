import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';

/**
 * Holds many device connections open from its own process: connects
 * argv ids `prefix-0 … prefix-(n-1)` with one shared secret (or the
 * `{id, secret}` list in `devicesFile`), prints `{"connected": n, "failed": n}`
 * and keeps them until stdin closes.
 */
const job = JSON.parse(process.argv[2]!) as {
  url: string; prefix?: string; count?: number; secret?: string; devicesFile?: string; concurrency: number;
};
const { url, concurrency } = job;
const listed = job.devicesFile ? (JSON.parse(readFileSync(job.devicesFile, 'utf8')) as { id: string; secret: string }[]) : undefined;
const count = listed ? listed.length : job.count!;
const device = (n: number) => listed?.[n] ?? { id: `${job.prefix}-${n}`, secret: job.secret! };
const clients: MqttClient[] = [];
let next = 0;
let failed = 0;
async function lane(): Promise<void> {
  while (next < count) {
    const { id, secret } = device(next++);
    try {
      const client = await mqtt.connectAsync(url, { clientId: id, username: id, password: secret, protocolVersion: 4, reconnectPeriod: 0, keepalive: 600 });
      clients.push(client);
    } catch {
      failed++;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
process.stdout.write(`${JSON.stringify({ connected: clients.length, failed })}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  for (const c of clients) c.end(true);
  process.exit(0);
});
