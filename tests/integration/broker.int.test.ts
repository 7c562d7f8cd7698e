import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceStatus } from '../../core/schemas/observation.js';
import { collectErrors, countPoints, errorsTopic, readingsTopic, statusTopic } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';

type ConnectError = Error & { code?: number };
const refusal = (p: Promise<MqttClient>) => p.then(async (c) => {
  await c.endAsync();
  return undefined;
}, (e: ConnectError) => e);

async function metricsText(stack: Stack): Promise<string> {
  return (await fetch(`${stack.httpUrl}/metrics`)).text();
}

describe('the device broker', () => {
  let stack: Stack;
  let certDir: string;
  let cert: string;
  const statuses: DeviceStatus[] = [];

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'dh-tls-'));
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    cert = pems.cert;
    writeFileSync(join(certDir, 'cert.pem'), pems.cert);
    writeFileSync(join(certDir, 'key.pem'), pems.private);
    stack = await startStack({
      TLS_CERT: join(certDir, 'cert.pem'),
      TLS_KEY: join(certDir, 'key.pem'),
      MQTT_TLS_PORT: '0',
      MQTT_DEVICE_RATE: '1',
      MQTT_DEVICE_BURST: '10',
    });
    stack.platform.bus.subscribe('device-status', (s) => statuses.push(s));
  });
  afterAll(async () => {
    await stack?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  async function newDevice(kind: 'gateway' | 'pulse_oximeter' = 'gateway') {
    const resident = await stack.addResident({ dong: DONG });
    return { resident, device: await stack.addDevice(resident.id, kind) };
  }

  it('refuses a disabled device, and a device of a disabled resident, with CONNACK 5', async () => {
    const { device } = await newDevice();
    await stack.api(`/api/devices/${device.id}`, { method: 'PATCH', token: stack.adminToken, body: { enabled: false } });
    expect((await refusal(stack.connectDevice(device)))?.code).toBe(5);

    const other = await newDevice();
    await stack.api(`/api/residents/${other.resident.id}`, { method: 'PATCH', token: stack.adminToken, body: { enabled: false } });
    expect((await refusal(stack.connectDevice(other.device)))?.code).toBe(5);
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="device_disabled"\} [1-9]/);
  });

  it('disconnects a device disabled while connected, without publishing its will', async () => {
    const { device } = await newDevice();
    const client = await stack.connectDevice(device, {
      will: { topic: statusTopic(device.id), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    let closed = false;
    client.once('close', () => (closed = true));
    const patched = await stack.api<{ enabled: boolean }>(`/api/devices/${device.id}`, { method: 'PATCH', token: stack.adminToken, body: { enabled: false } });
    expect(patched.body.enabled).toBe(false);
    await waitFor(() => closed, 5000, 'the broker to close the connection');
    await client.endAsync(true);
    expect((await refusal(stack.connectDevice(device)))?.code).toBe(5);
    expect(statuses.filter((s) => s.deviceId === device.id)).toEqual([]);
  });

  it('disconnects the connected devices of a resident who is disabled', async () => {
    const { resident, device } = await newDevice();
    const second = await stack.addDevice(resident.id, 'motion_sensor');
    const clients = [await stack.connectDevice(device), await stack.connectDevice(second)];
    const closed = [false, false];
    clients.forEach((c, i) => c.once('close', () => (closed[i] = true)));
    await stack.api(`/api/residents/${resident.id}`, { method: 'PATCH', token: stack.adminToken, body: { enabled: false } });
    await waitFor(() => closed.every(Boolean), 5000, 'both devices to be disconnected');
    await Promise.all(clients.map((c) => c.endAsync(true)));
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="resident_disabled"\} [1-9]/);
  });

  it('closes the connection of a device that publishes as another, and stores nothing for the other', async () => {
    const a = await newDevice();
    const b = await newDevice();
    const client = await stack.connectDevice(a.device);
    let closed = false;
    client.once('close', () => (closed = true));
    client.publish(readingsTopic(b.device.id), JSON.stringify({ type: 'sos' }), { qos: 1 });
    await waitFor(() => closed, 5000, 'the broker to close the connection');
    await client.endAsync(true);
    const again = await stack.connectDevice(a.device);
    try {
      await again.publishAsync(readingsTopic(a.device.id), JSON.stringify({ type: 'sos', ts: Date.now() - 500 }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'sos', a.device.id)) === 1, 15_000, 'its own reading');
      expect(await countPoints(stack.platform.influx, 'sos', b.device.id)).toBe(0);
    } finally {
      await again.endAsync();
    }
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="publish_not_authorized"\} [1-9]/);
  });

  it("refuses a device's publish to its own errors topic", async () => {
    const { device } = await newDevice();
    const client = await stack.connectDevice(device);
    let closed = false;
    client.once('close', () => (closed = true));
    client.publish(errorsTopic(device.id), '{"error":"fake"}', { qos: 1 });
    await waitFor(() => closed, 5000, 'the broker to close the connection');
    await client.endAsync(true);
  });

  it("lets a device subscribe only to its own errors topic: another's, wildcards and readings get SUBACK 0x80", async () => {
    const a = await newDevice();
    const b = await newDevice();
    const client = await stack.connectDevice(a.device);
    try {
      const topics = [errorsTopic(b.device.id), 'dh/v1/devices/+/errors', '#', readingsTopic(a.device.id), errorsTopic(a.device.id)];
      // mqtt.js rejects a SUBACK that holds a 0x80; the packet still carries every grant.
      const suback = await client.subscribeAsync(topics, { qos: 1 }).then(
        () => undefined,
        (err: Error & { packet?: { granted: number[] } }) => err.packet,
      );
      expect(suback?.granted).toEqual([128, 128, 128, 128, 1]);
      expect(client.connected).toBe(true);
    } finally {
      await client.endAsync();
    }
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="subscribe_not_authorized"\} [1-9]/);
  });

  it('turns the retained status into online and the will of a dropped connection into offline', async () => {
    const { device } = await newDevice();
    const client = await stack.connectDevice(device, {
      will: { topic: statusTopic(device.id), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    await client.publishAsync(statusTopic(device.id), JSON.stringify({ online: true, battery: 80, firmware: '1.2.0', rssi: -60 }), { qos: 1, retain: true });
    await waitFor(() => statuses.some((s) => s.deviceId === device.id && s.online), 5000, 'online');
    expect(statuses.find((s) => s.deviceId === device.id)).toMatchObject({ online: true, battery: 80, dong: DONG });
    client.stream.destroy(); // an unclean drop: the broker publishes the will
    await waitFor(() => statuses.some((s) => s.deviceId === device.id && !s.online), 5000, 'offline from the will');
    await client.endAsync(true);
  });

  it('refuses an MQTT 5 CONNECT cleanly and keeps serving MQTT 3.1.1', async () => {
    const { device } = await newDevice();
    const v5 = mqtt.connect(stack.mqttUrl, {
      protocolVersion: 5, clientId: device.id, username: device.id, password: device.secret, reconnectPeriod: 0, connectTimeout: 5000,
    });
    const outcome = await new Promise<string>((resolve) => {
      v5.once('connect', () => resolve('connected'));
      v5.once('error', (err: ConnectError) => resolve(`error ${err.code ?? err.message}`));
      v5.once('close', () => resolve('closed'));
    });
    v5.end(true);
    expect(outcome).toBe('error 1'); // CONNACK 1: unacceptable protocol version
    const v4 = await stack.connectDevice(device);
    try {
      await v4.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'motion', detected: true, ts: Date.now() - 100 }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'motion', device.id)) === 1, 15_000, 'a 3.1.1 reading');
    } finally {
      await v4.endAsync();
    }
  });

  it('accepts readings over WebSocket on /mqtt', async () => {
    const { device } = await newDevice();
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${stack.platform.ports.ws}/mqtt`, {
      clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
    });
    try {
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'temperature', celsius: 36.5, ts: Date.now() - 100 }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'temperature', device.id)) === 1, 15_000, 'the reading');
    } finally {
      await client.endAsync();
    }
  });

  it('accepts readings over TLS with the configured certificate', async () => {
    const { device } = await newDevice();
    expect(stack.platform.ports.tls).toBeGreaterThan(0);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${stack.platform.ports.tls}`, {
      clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
      ca: cert, rejectUnauthorized: true,
    });
    try {
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'power', watts: 40, ts: Date.now() - 100 }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'power', device.id)) === 1, 15_000, 'the reading');
    } finally {
      await client.endAsync();
    }
  });

  it('answers messages beyond the device rate with rate_limited and does not store them', async () => {
    const { device } = await newDevice();
    const client = await stack.connectDevice(device);
    try {
      const errors = await collectErrors(client, device.id);
      const base = Date.now() - 60_000;
      // Burst 10, 1 message/s: 30 messages at once leave about 20 over the limit.
      await Promise.all(Array.from({ length: 30 }, (_, i) =>
        client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'steps', count: i, ts: base + i }), { qos: 1 })));
      await waitFor(() => errors.length >= 15, 5000, 'rate_limited errors');
      expect(new Set(errors.map((e) => e.error))).toEqual(new Set(['rate_limited']));
      await waitFor(() => stack.platform.ingest.health().backlog === 0, 15_000, 'the outbox to drain');
      expect(await countPoints(stack.platform.influx, 'steps', device.id)).toBe(30 - errors.length);
      expect(client.connected).toBe(true);
    } finally {
      await client.endAsync();
    }
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="rate_limited"\} [1-9]/);
  });

  it('counts connections and messages in /metrics', async () => {
    const { device } = await newDevice();
    const client = await stack.connectDevice(device);
    try {
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'door', open: true }), { qos: 1 });
      const text = await metricsText(stack);
      expect(text).toMatch(/dh_broker_connections [1-9]/);
      expect(text).toMatch(/dh_broker_messages_total\{kind="readings"\} [1-9]/);
      expect(text).toMatch(/dh_broker_messages_total\{kind="status"\} [1-9]/);
    } finally {
      await client.endAsync();
    }
  });
});

describe('the broker at its connection cap', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ MQTT_MAX_CONNECTIONS: '2' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses connections beyond MQTT_MAX_CONNECTIONS with CONNACK 3 and takes new ones once a device leaves', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const devices = await Promise.all([0, 1, 2].map(() => stack.addDevice(resident.id, 'motion_sensor')));
    const first = await stack.connectDevice(devices[0]!);
    const second = await stack.connectDevice(devices[1]!);
    expect((await refusal(stack.connectDevice(devices[2]!)))?.code).toBe(3);
    // The same device reconnecting takes over its own connection: no new one.
    const firstAgain = await stack.connectDevice(devices[0]!);
    await second.endAsync();
    await waitFor(() => stack.platform.metrics.brokerConnections.get().then((m) => m.values[0]?.value === 1), 5000, 'the device to leave');
    const third = await stack.connectDevice(devices[2]!);
    await Promise.all([first.endAsync(true), firstAgain.endAsync(), third.endAsync()]);
    expect(await metricsText(stack)).toMatch(/dh_broker_rejections_total\{reason="max_connections"\} 1/);
  });
});
