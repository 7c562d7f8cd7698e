import { connect as connectTcp } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadingType } from '../../core/schemas/readings.js';
import { collectErrors, countPoints, pointTimes, wholePoints, readingsTopic, type DeviceError } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const minute = 60_000;

// CONTRACT §2: for every type, one reading that is stored and one that is refused with its code.
const examples: { type: ReadingType; valid: Record<string, unknown>; invalid: Record<string, unknown>; code: string }[] = [
  { type: 'blood_pressure', valid: { systolic: 128, diastolic: 82, pulse: 71 }, invalid: { systolic: 80, diastolic: 90 }, code: 'out_of_range' },
  { type: 'glucose', valid: { mg_dl: 104, context: 'fasting' }, invalid: { mg_dl: 104, context: 'midnight' }, code: 'invalid_reading' },
  { type: 'spo2', valid: { spo2: 97, pulse: 68 }, invalid: { spo2: 101 }, code: 'out_of_range' },
  { type: 'temperature', valid: { celsius: 36.6 }, invalid: { celsius: 52 }, code: 'out_of_range' },
  { type: 'weight', valid: { kg: 58.4 }, invalid: { kg: 5 }, code: 'out_of_range' },
  { type: 'heart_rate', valid: { bpm: 72 }, invalid: { bpm: 400 }, code: 'out_of_range' },
  { type: 'respiratory_rate', valid: { per_min: 14 }, invalid: { per_min: 1 }, code: 'out_of_range' },
  { type: 'steps', valid: { count: 3210 }, invalid: { count: -1 }, code: 'out_of_range' },
  { type: 'motion', valid: { detected: true }, invalid: { detected: 'yes' }, code: 'invalid_reading' },
  { type: 'door', valid: { open: false }, invalid: {}, code: 'invalid_reading' },
  { type: 'power', valid: { watts: 1800 }, invalid: { watts: 20_000 }, code: 'out_of_range' },
  { type: 'illuminance', valid: { lux: 320 }, invalid: { lux: -5 }, code: 'out_of_range' },
  { type: 'checkin_button', valid: {}, invalid: { ts: 'yesterday' }, code: 'invalid_reading' },
  { type: 'sos', valid: {}, invalid: { ts: Date.now() + 3_600_000 }, code: 'ts_out_of_range' },
  { type: 'fall', valid: { confidence: 0.93 }, invalid: { confidence: 1.5 }, code: 'out_of_range' },
];

describe('ingest over MQTT into InfluxDB', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function newDevice() {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'gateway');
    const client = await stack.connectDevice(device);
    const errors = await collectErrors(client, device.id);
    return { resident, device, client, errors };
  }

  it.each(examples)('stores a valid $type reading with its fields and refuses an invalid one with $code', async ({ type, valid, invalid, code }) => {
    const { device, client, errors } = await newDevice();
    try {
      const ts = Date.now() - 2000;
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type, ts, ...valid }), { qos: 1 });
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type, ...invalid }), { qos: 1 });
      await waitFor(() => errors.length === 1, 5000, 'the error');
      expect(errors[0]).toMatchObject({ error: code });
      expect(errors[0]!.index).toBeUndefined();
      const [point] = await wholePoints(stack.platform.influx, type, device.id, Object.keys(valid));
      expect(point).toMatchObject({ time: ts, device: device.id, dong: DONG, type, ...valid });
    } finally {
      await client.endAsync();
    }
  });

  it('stores the 2 good readings of a mixed batch and sends 1 error with the index of the bad one', async () => {
    const { device, client, errors } = await newDevice();
    try {
      const ts = Date.now() - 5000;
      const batch = { readings: [{ type: 'heart_rate', bpm: 70, ts }, { type: 'heart_rate', bpm: 999, ts: ts + 1 }, { type: 'heart_rate', bpm: 72, ts: ts + 2 }] };
      await client.publishAsync(readingsTopic(device.id), JSON.stringify(batch), { qos: 1 });
      await waitFor(() => errors.length === 1, 5000, 'the error');
      expect(errors[0]).toMatchObject({ error: 'out_of_range', index: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'heart_rate', device.id)) === 2, 15_000, 'the two points');
      expect(await pointTimes(stack.platform.influx, 'heart_rate', device.id)).toEqual([ts, ts + 2]);
    } finally {
      await client.endAsync();
    }
  });

  it('answers each kind of bad message with its code, stays up, and stores the good readings that follow', async () => {
    const { device, client, errors } = await newDevice();
    try {
      const now = Date.now();
      const bad: [string | Buffer, string][] = [
        ['{"type": "spo2", "spo2": 9', 'bad_json'],
        [JSON.stringify({ type: 'blood_sugar', mg_dl: 100 }), 'unknown_type'],
        [JSON.stringify({ type: 'spo2', spo2: 97, note: 'x'.repeat(65 * 1024) }), 'too_large'],
        [JSON.stringify({ type: 'spo2', spo2: 97, ts: now + 60 * minute }), 'ts_out_of_range'],
        [JSON.stringify({ type: 'spo2', spo2: 97, ts: now - 40 * 24 * 60 * minute }), 'ts_out_of_range'],
        [JSON.stringify({ readings: [] }), 'invalid_reading'],
        [JSON.stringify({ readings: Array.from({ length: 501 }, () => ({ type: 'sos' })) }), 'too_large'],
      ];
      for (const [body] of bad) await client.publishAsync(readingsTopic(device.id), body, { qos: 1 });
      await waitFor(() => errors.length === bad.length, 5000, 'one error per bad message');
      expect(errors.map((e: DeviceError) => e.error)).toEqual(bad.map(([, code]) => code));

      const ts = Date.now() - 1000;
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'spo2', spo2: 96, ts }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'spo2', device.id)) === 1, 15_000, 'the good reading');
      const metrics = await (await fetch(`${stack.httpUrl}/metrics`)).text();
      for (const code of ['bad_json', 'unknown_type', 'too_large', 'ts_out_of_range']) {
        expect(metrics).toMatch(new RegExp(`dh_ingest_readings_rejected_total\\{reason="${code}"\\} [1-9]`));
      }
    } finally {
      await client.endAsync();
    }
  });

  it('closes a connection that sends a packet beyond 256 KiB, and the device can come back', async () => {
    const { device, client } = await newDevice();
    let closed = false;
    client.once('close', () => (closed = true));
    client.publish(readingsTopic(device.id), Buffer.alloc(1024 * 1024, 0x20), { qos: 1 });
    await waitFor(() => closed, 5000, 'the broker to close the connection');
    await client.endAsync(true);
    const again = await stack.connectDevice(device);
    try {
      const ts = Date.now() - 1000;
      await again.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'door', open: true, ts }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'door', device.id)) === 1, 15_000, 'the reading after reconnecting');
    } finally {
      await again.endAsync();
    }
    const metrics = await (await fetch(`${stack.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/dh_broker_rejections_total\{reason="packet_too_large"\} [1-9]/);
  });

  it('stores the same reading published twice as one point', async () => {
    const { device, client } = await newDevice();
    try {
      const body = JSON.stringify({ type: 'weight', kg: 61.2, ts: Date.now() - 3000 });
      await client.publishAsync(readingsTopic(device.id), body, { qos: 1 });
      await client.publishAsync(readingsTopic(device.id), body, { qos: 1 });
      // A later reading marks when both are surely written.
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'weight', kg: 61.3, ts: Date.now() - 1000 }), { qos: 1 });
      await waitFor(async () => (await countPoints(stack.platform.influx, 'weight', device.id)) >= 2, 15_000, 'the points');
      await waitFor(() => stack.platform.ingest.health().backlog === 0, 15_000, 'the outbox to drain');
      expect(await countPoints(stack.platform.influx, 'weight', device.id)).toBe(2);
    } finally {
      await client.endAsync();
    }
  });

  it('stores a QoS 1 redelivery of a reading without ts (same packet id) as one point', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'button');
    const payload = JSON.stringify({ type: 'checkin_button' });
    // A raw MQTT session: the PUBACK of the first delivery is "lost" (the connection drops before we
    // read it), and the device resends the same packet id with DUP set on its next connection.
    async function publishRaw(dup: boolean): Promise<void> {
      const socket = connectTcp(stack.platform.ports.mqtt, '127.0.0.1');
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const acked = new Promise<void>((resolve, reject) => {
        parser.on('packet', (packet) => {
          if (packet.cmd === 'connack' && packet.returnCode !== 0) reject(new Error(`CONNACK ${packet.returnCode}`));
          if (packet.cmd === 'puback' && packet.messageId === 4711) resolve();
        });
        socket.on('error', reject);
      });
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: device.id, username: device.id, password: Buffer.from(device.secret) }));
      socket.write(mqttPacket.generate({ cmd: 'publish', topic: readingsTopic(device.id), payload, qos: 1, messageId: 4711, dup, retain: false }));
      await acked;
      socket.destroy();
    }
    await publishRaw(false);
    await waitFor(async () => (await countPoints(stack.platform.influx, 'checkin_button', device.id)) === 1, 15_000, 'the first point');
    const [first] = await pointTimes(stack.platform.influx, 'checkin_button', device.id);
    await publishRaw(true);
    await waitFor(() => stack.platform.ingest.health().backlog === 0, 15_000, 'the outbox to drain');
    expect(await pointTimes(stack.platform.influx, 'checkin_button', device.id)).toEqual([first]);
    const metrics = await (await fetch(`${stack.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/dh_ingest_redeliveries_total [1-9]/);
  });

  it('forgets outbox rows once InfluxDB has them and the alerts engine has made them durable', async () => {
    const { device, client } = await newDevice();
    let sosId = Infinity;
    const unsubscribe = stack.platform.bus.subscribe('observations', (messages) => {
      for (const m of messages) if (m.deviceId === device.id) sosId = m.firstOutboxId!;
    });
    try {
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'sos', ts: Date.now() - 500 }), { qos: 1 });
      const held = () => stack.platform.metrics.outboxHeld.get().then((m) => m.values[0]?.value);
      // The gauge refreshes every second: wait for the cursor to pass this very reading too.
      await waitFor(async () => stack.platform.alerts.durableCursor() >= sosId && (await held()) === 0, 10_000, 'the outbox to empty');
      expect(stack.platform.ingest.replay(stack.platform.alerts.durableCursor())).toBe(0);
    } finally {
      unsubscribe();
      await client.endAsync();
    }
  });

  it('keeps the outbox gauges in /metrics current', async () => {
    await waitFor(async () => {
      const metrics = await (await fetch(`${stack.httpUrl}/metrics`)).text();
      return /dh_ingest_outbox_backlog 0/.test(metrics) && /dh_ingest_influx_points_written_total [1-9]/.test(metrics);
    }, 5000, 'the gauges');
    const health = await stack.api<{ status: string }>('/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
