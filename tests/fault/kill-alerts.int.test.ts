import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert, AlertStatus, HistoryEntry } from '../../core/schemas/alert.js';
import { readingsTopic } from '../support/devices.js';
import { spawnPlatform, type PlatformProcess } from '../support/platform-process.js';
import { ADMIN_PASSWORD, waitFor } from '../support/stack.js';

const DONG = '1111051500';
const RESIDENTS = 6;
const WINDOW = 8; // QoS 1 messages in flight per device
const ACKED_BEFORE_KILL = 3000; // abnormal readings PUBACKed before the kill
const STATUS_RANK: Record<AlertStatus, number> = { open: 0, acknowledged: 1, resolved: 2 };

async function call<T>(platform: PlatformProcess, path: string, init: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${platform.httpUrl}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function must<T>(platform: PlatformProcess, path: string, init: { body?: unknown; token?: string } = {}): Promise<T> {
  const r = await call<T>(platform, path, init);
  if (r.status >= 300) throw new Error(`${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** What a client saw of one alert change. */
interface Seen {
  id: string;
  seq: number;
  status: AlertStatus;
  history: HistoryEntry[];
}

describe('a platform killed with SIGKILL while alerts change', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-kill-alerts-'));
  const env = { DATA_DIR: dataDir, ADMIN_PASSWORD, MQTT_DEVICE_RATE: '100000', MQTT_DEVICE_BURST: '100000', ALERT_SCAN_MS: '100' };
  const running: PlatformProcess[] = [];
  const clients: MqttClient[] = [];
  let socket: Socket | undefined;
  afterAll(async () => {
    socket?.disconnect();
    for (const c of clients) c.end(true);
    for (const p of running) await p.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every alert change a console saw and counts every PUBACKed abnormal reading after the restart', async () => {
    const first = await spawnPlatform(env);
    running.push(first);
    const { token } = await must<{ token: string }>(first, '/api/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    const devices: { id: string; secret: string }[] = [];
    for (let i = 0; i < RESIDENTS; i++) {
      const resident = await must<{ id: string }>(first, '/api/residents', { token, body: { displayName: `강제 종료 ${i}`, dong: DONG } });
      devices.push(await must<{ id: string; secret: string }>(first, '/api/devices', { token, body: { residentId: resident.id, kind: 'gateway' } }));
    }

    // The console: every alert change it is sent, and the ones its REST acks returned.
    const seen: Seen[] = [];
    const record = (a: Alert) => seen.push({ id: a.id, seq: a.seq, status: a.status, history: a.history });
    const ackRequested = new Set<string>();
    let acks = 0;
    socket = io(`${first.httpUrl}/console`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    let ready = false;
    socket.on('ready', () => (ready = true));
    socket.on('alert', (a: Alert) => {
      record(a);
      // Staff acknowledge each new alert over REST, as the console does when its socket is down.
      if (a.status === 'open' && !ackRequested.has(a.id)) {
        ackRequested.add(a.id);
        void call<Alert>(first, `/api/alerts/${a.id}/ack`, { token, body: { note: '확인 중' } }).then((r) => {
          if (r.status === 200) {
            acks++;
            record(r.body);
          }
        }, () => {});
      }
    });
    await waitFor(() => ready, 10_000, 'the console socket');

    // Each device alternates SpO2 85 (critical) and SOS, QoS 1, WINDOW in flight; PUBACKs counted.
    let ackedAbnormal = 0;
    let sent = 0;
    let killed = false;
    const lanes: Promise<void>[] = [];
    await Promise.all(devices.map(async (device) => {
      const client = await mqtt.connectAsync(first.mqttUrl, {
        clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
      });
      clients.push(client);
      client.on('error', () => {});
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      let n = 0;
      const lane = async () => {
        while (!killed && client.connected) {
          const payload = n++ % 2 === 0 ? { type: 'spo2', spo2: 85 } : { type: 'sos' };
          sent++;
          const acked = await Promise.race([
            client.publishAsync(readingsTopic(device.id), JSON.stringify(payload), { qos: 1 }).then(() => true, () => false),
            closed.then(() => false),
          ]);
          if (acked) ackedAbnormal++;
        }
      };
      for (let k = 0; k < WINDOW; k++) lanes.push(lane());
    }));

    await waitFor(() => ackedAbnormal >= ACKED_BEFORE_KILL && acks >= RESIDENTS, 30_000, 'abnormal readings PUBACKed and alerts acknowledged');
    await first.kill('SIGKILL');
    killed = true;
    await Promise.all(lanes);
    const ackedAtKill = ackedAbnormal;
    const seenAtKill = [...seen];
    socket.disconnect();
    for (const c of clients.splice(0)) c.end(true);
    expect(sent).toBeGreaterThan(ackedAtKill); // readings were in flight when it died
    expect(seenAtKill.length).toBeGreaterThan(RESIDENTS * 2);

    const second = await spawnPlatform(env);
    running.push(second);
    const { token: token2 } = await must<{ token: string }>(second, '/api/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });

    // Every PUBACKed abnormal reading counted in an alert (a replay may count one twice, never zero times).
    const ours = (a: Alert) => (a.kind === 'abnormal_vital' && a.rule === 'spo2') || a.kind === 'sos';
    const counted = async () => {
      const { alerts } = await must<{ alerts: Alert[] }>(second, '/api/alerts?limit=1000', { token: token2 });
      return alerts.filter(ours).reduce((sum, a) => sum + a.count, 0);
    };
    await waitFor(async () => (await counted()) >= ackedAtKill, 30_000, 'alert counts to cover every PUBACKed abnormal reading');

    // Every change the console saw is there: same alert, seq at least as new, history extends what was seen.
    const latest = new Map<string, Seen>();
    for (const s of seenAtKill) if ((latest.get(s.id)?.seq ?? -1) < s.seq) latest.set(s.id, s);
    const problems: string[] = [];
    for (const s of latest.values()) {
      const r = await call<Alert>(second, `/api/alerts/${s.id}`, { token: token2 });
      if (r.status !== 200) {
        problems.push(`${s.id}: ${r.status} after the restart (seen at seq ${s.seq})`);
        continue;
      }
      const after = r.body;
      if (after.seq < s.seq) problems.push(`${s.id}: seq ${after.seq} < seen ${s.seq}`);
      if (STATUS_RANK[after.status] < STATUS_RANK[s.status]) problems.push(`${s.id}: status ${after.status}, seen ${s.status}`);
      const prefix = after.history.slice(0, s.history.length);
      if (JSON.stringify(prefix) !== JSON.stringify(s.history)) problems.push(`${s.id}: history ${JSON.stringify(after.history)} does not extend ${JSON.stringify(s.history)}`);
    }
    expect(problems).toEqual([]);
    expect([...latest.values()].some((s) => s.status === 'acknowledged')).toBe(true);
  });
});
