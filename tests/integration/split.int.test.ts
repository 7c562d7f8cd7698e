import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { Alert } from '../../core/schemas/alert.js';
import { connectInflux, type InfluxClient } from '../../influx/client.js';
import { startManagedInfluxd, type ManagedInfluxd } from '../../influx/managed-influxd.js';
import { launchChromium } from '../support/browser.js';
import { readingsTopic, wholePoints } from '../support/devices.js';
import { spawnPlatform, type PlatformProcess } from '../support/platform-process.js';
import { ADMIN_PASSWORD, waitFor } from '../support/stack.js';

// CONTRACT §1 "split processes": broker (with ingest), alerts and web, each `node dist/main.js` with
// its own SERVICE, sharing DATA_DIR and meeting on the services' bus; InfluxDB of their own.
const BUS_SECRET = 'split-test-bus-secret-0123456789';
const DONG = '1111051500';

interface Api {
  <T>(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T }>;
}

describe('the platform as split processes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-split-'));
  let influxd: ManagedInfluxd;
  let influx: InfluxClient;
  let broker: PlatformProcess;
  let alerts: PlatformProcess;
  let web: PlatformProcess;
  let api: Api;
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];
  const running: PlatformProcess[] = [];

  const spawnService = async (service: 'broker' | 'alerts' | 'web', env: Record<string, string> = {}) => {
    const child = await spawnPlatform({
      SERVICE: service, DATA_DIR: dataDir, BUS_SECRET, INFLUX_URL: influxd.url, ADMIN_PASSWORD, ALERT_SCAN_MS: '100',
      ...(service === 'broker' ? {} : { BUS_URL: broker.mqttUrl }),
      ...env,
    });
    running.push(child);
    return child;
  };

  beforeAll(async () => {
    influxd = await startManagedInfluxd(join(dataDir, 'influxdb'), createLogger('silent'));
    influx = await connectInflux({ url: influxd.url, db: 'donghaeng' }, createLogger('silent'));
    broker = await spawnService('broker');
    alerts = await spawnService('alerts');
    web = await spawnService('web');
    let token = '';
    api = async <T>(path: string, init: { method?: string; body?: unknown } = {}) => {
      const response = await fetch(`${web.httpUrl}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    };
    token = (await api<{ token: string }>('/api/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body.token;
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    for (const c of clients) await c.endAsync(true);
    for (const p of running) await p.kill('SIGTERM');
    await influxd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function provision(): Promise<{ residentId: string; device: { id: string; secret: string }; client: MqttClient }> {
    const resident = await api<{ id: string }>('/api/residents', { body: { displayName: '분리 시험', dong: DONG } });
    expect(resident.status).toBe(201);
    const device = await api<{ id: string; secret: string }>('/api/devices', { body: { residentId: resident.body.id, kind: 'gateway' } });
    expect(device.status).toBe(201);
    // Provisioned by the web process; the broker process authenticates it from the shared registry.
    const client = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: device.body.id, username: device.body.id, password: device.body.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
    });
    clients.push(client);
    return { residentId: resident.body.id, device: device.body, client };
  }

  const alertsOf = async (residentId: string) =>
    (await api<{ alerts: Alert[] }>(`/api/alerts?residentId=${residentId}`)).body.alerts ?? [];

  async function waitForAlert(residentId: string, match: (a: Alert) => boolean, what: string): Promise<Alert> {
    let found: Alert | undefined;
    await waitFor(async () => {
      found = (await alertsOf(residentId)).find(match);
      return found !== undefined;
    }, 20_000, what);
    return found!;
  }

  it('stores readings in InfluxDB, raises an alert live on the console, and takes a nurse\'s acknowledgement', async () => {
    const { residentId, device, client } = await provision();
    const token = (await api<{ token: string }>('/api/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).body.token;
    const socket = io(`${web.httpUrl}/console`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const live: Alert[] = [];
    socket.on('alert', (a: Alert) => live.push(a));
    await new Promise<void>((resolve) => socket.once('ready', () => resolve()));

    const now = Date.now();
    await client.publishAsync(readingsTopic(device.id), JSON.stringify({
      readings: [
        { type: 'heart_rate', bpm: 72, ts: now - 2000 },
        { type: 'spo2', spo2: 85, pulse: 80, ts: now - 1000 }, // critical (≤ 92)
      ],
    }), { qos: 1 });

    const stored = await wholePoints(influx, 'spo2', device.id, ['spo2'], 1);
    expect(stored[0]!.spo2).toBe(85);
    // The console knows the device was heard without every observation crossing the bus to it (devices-heard).
    await waitFor(async () => {
      const page = await api<{ devices: { id: string; status: { connectivity: string; lastSeenAt: number | null } }[] }>(`/api/residents/${residentId}`);
      const status = page.body.devices.find((d) => d.id === device.id)?.status;
      return status?.connectivity === 'online' && (status.lastSeenAt ?? 0) >= now - 5000;
    }, 10_000, 'the device heard on the resident page');
    const alert = await waitForAlert(residentId, (a) => a.kind === 'abnormal_vital' && a.severity === 'critical', 'the SpO2 alert');
    // The alerts process published it; the web process's socket delivered it.
    await waitFor(() => live.some((a) => a.id === alert.id), 10_000, 'the alert on the console socket');

    const acked = await api<Alert>(`/api/alerts/${alert.id}/ack`, { body: { note: '전화 확인' } });
    expect(acked.status).toBe(200);
    expect(acked.body.status).toBe('acknowledged');
    expect((await api<Alert>(`/api/alerts/${alert.id}`)).body.status).toBe('acknowledged');
    // A second acknowledgement is refused by the alerts process and the refusal reaches the staff member as it is.
    const again = await api<{ error: string }>(`/api/alerts/${alert.id}/ack`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');
  });

  it('serves the console to a real Chromium: an SOS arrives live on the board and its acknowledgement goes through the alerts process', async () => {
    const { residentId, device, client } = await provision();
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ locale: 'ko-KR', timezoneId: 'Asia/Seoul' })).newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto(web.httpUrl);
      await page.fill('[name=username]', 'admin');
      await page.fill('[name=password]', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('#connection[data-state=connected]', { timeout: 15_000 });

      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'sos' }), { qos: 1 });
      const sos = await waitForAlert(residentId, (a) => a.kind === 'sos', 'the SOS');
      // On the board without a reload: broker process → alerts process → bus → web process → socket.
      const card = page.locator(`#board [data-alert-id="${sos.id}"][data-kind=sos][data-severity=critical]`);
      await card.waitFor({ timeout: 10_000 });
      await card.locator('[data-action=ack]').click();
      await page.locator(`#board [data-alert-id="${sos.id}"][data-status=acknowledged]`).waitFor({ timeout: 10_000 });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('an alerts process killed with SIGKILL misses nothing published while it was down', async () => {
    const { residentId, device, client } = await provision();
    await alerts.kill('SIGKILL');
    const now = Date.now();
    // Acknowledged by the broker process while there is no alerts process at all.
    await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'heart_rate', bpm: 150, ts: now - 500 }), { qos: 1 });
    await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'temperature', celsius: 36.5, ts: now }), { qos: 1 });
    alerts = await spawnService('alerts', { LOG_LEVEL: 'info' });
    const alert = await waitForAlert(residentId, (a) => a.kind === 'abnormal_vital' && a.rule === 'heart_rate', 'the heart-rate alert after the restart');
    expect(alert.severity).toBe('critical');
    // From the broker process's outbox: nothing queues for a service while it is away (clean sessions).
    await waitFor(() => /"readings":2,[^\n]*caught up with the outbox/.test(alerts.output()), 10_000, 'the catch-up to be logged');
  });

  it('a broker process killed with SIGKILL comes back on its ports; the others reconnect and alert on what it stores next', async () => {
    const { residentId, device } = await provision();
    const ports = { MQTT_PORT: new URL(broker.mqttUrl).port, HTTP_PORT: new URL(broker.httpUrl).port };
    await broker.kill('SIGKILL');
    // Meanwhile the alerts process says its bus is gone: degraded, not down (it works on).
    await waitFor(async () => {
      const health = (await (await fetch(`${alerts.httpUrl}/healthz`)).json()) as { status: string; checks: { bus: { ok: boolean } } };
      return health.status === 'degraded' && !health.checks.bus.ok;
    }, 10_000, 'the alerts process to report its bus lost');
    broker = await spawnService('broker', ports);
    const client = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
    });
    clients.push(client);
    await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'sos' }), { qos: 1 });
    const sos = await waitForAlert(residentId, (a) => a.kind === 'sos', 'the SOS after the broker restart');
    expect(sos.severity).toBe('critical');
    // The console's staff action reaches the alerts process over the broker that came back.
    expect((await api<Alert>(`/api/alerts/${sos.id}/ack`, { body: {} })).body.status).toBe('acknowledged');
  });

  it('a device disabled on the console is disconnected by the broker process', async () => {
    const { device, client } = await provision();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const patched = await api(`/api/devices/${device.id}`, { method: 'PATCH', body: { enabled: false } });
    expect(patched.status).toBe(200);
    await closed;
  });

  it('the broker process keeps outbox rows until the alerts process says they are durable, then lets them go', async () => {
    await waitFor(async () => {
      const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
      const held = /^dh_ingest_outbox_readings (\d+)/m.exec(text);
      return held !== null && Number(held[1]) === 0;
    }, 20_000, 'the outbox to be empty');
  });

  it('refuses a service with the wrong bus secret', async () => {
    await expect(spawnPlatform({
      SERVICE: 'alerts', DATA_DIR: dataDir, BUS_URL: broker.mqttUrl, BUS_SECRET: 'not-the-bus-secret-at-all',
    })).rejects.toThrow(/exited \(1\)[\s\S]*refused the connection[\s\S]*could not start/);
  });
});
