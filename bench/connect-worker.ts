import mqtt, { type MqttClient } from 'mqtt';

/**
 * Holds many device connections open from its own process: connects
 * argv ids `prefix-0 … prefix-(n-1)` with one shared secret, prints
 * `{"connected": n}` and keeps them until stdin closes.
 */
const { url, prefix, count, secret, concurrency } = JSON.parse(process.argv[2]!) as {
  url: string; prefix: string; count: number; secret: string; concurrency: number;
};
const clients: MqttClient[] = [];
let next = 0;
let failed = 0;
async function lane(): Promise<void> {
  while (next < count) {
    const id = `${prefix}-${next++}`;
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
