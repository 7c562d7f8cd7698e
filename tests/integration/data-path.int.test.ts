import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wholePoints } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';

describe('the data path, device to alert, on real parts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stores an SpO2 reading published at QoS 1 in InfluxDB with its tags and raises a critical alert', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'pulse_oximeter');
    const client = await stack.connectDevice(device);
    try {
      const ts = Date.now() - 1000;
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'spo2', spo2: 85, pulse: 88, ts }), { qos: 1 });

      const [point] = await wholePoints(stack.platform.influx, 'spo2', device.id, ['spo2', 'pulse']);
      expect(point).toMatchObject({ time: ts, spo2: 85, pulse: 88, resident: resident.id, device: device.id, dong: DONG, type: 'spo2' });

      const alert = await stack.waitForAlert((a) => a.residentId === resident.id, 'the alert', { timeoutMs: 5000 });
      expect(alert).toMatchObject({ kind: 'abnormal_vital', rule: 'spo2', severity: 'critical', status: 'open', level: 'dong', dong: DONG, lastValue: 85 });
    } finally {
      await client.endAsync();
    }
  });

  it('refuses a device with a wrong secret at CONNECT', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'bp_monitor');
    const err = await stack.connectDevice({ id: device.id, secret: 'not-the-secret' }).then(
      () => undefined,
      (e: Error & { code?: number }) => e,
    );
    expect(err).toBeDefined();
    expect(err!.code).toBe(4); // CONNACK: bad user name or password
    const metrics = await (await fetch(`${stack.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/dh_broker_rejections_total\{reason="bad_credentials"\} [1-9]/);
  });

  it('refuses an unknown device and a client id that is not the username', async () => {
    const unknown = await stack.connectDevice({ id: 'nobody', secret: 'x' }).then(() => undefined, (e: Error & { code?: number }) => e);
    expect(unknown?.code).toBe(4);
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'scale');
    const mismatch = await stack.connectDevice(device, { clientId: 'someone-else' }).then(() => undefined, (e: Error & { code?: number }) => e);
    expect(mismatch?.code).toBe(2); // identifier rejected
  });

  it('raises missed_checkin in real time for a resident with a 3.6-second window and no activity', async () => {
    const resident = await stack.addResident({ dong: DONG, inactivityHours: 0.001 });
    const alert = await stack.waitForAlert((a) => a.residentId === resident.id, 'missed_checkin', { timeoutMs: 20_000 });
    expect(alert).toMatchObject({ kind: 'missed_checkin', rule: 'inactivity', severity: 'warning', status: 'open' });
    expect(alert!.openedAt - (await stack.api<{ createdAt: number }>(`/api/residents/${resident.id}`, { token: stack.adminToken })).body.createdAt).toBeGreaterThanOrEqual(3600);
  });

  it('answers a malformed reading with an error on the device errors topic and keeps the next good one', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'motion_sensor');
    const client = await stack.connectDevice(device);
    try {
      const errors: { error: string }[] = [];
      client.on('message', (_topic, payload) => errors.push(JSON.parse(payload.toString()) as { error: string }));
      await client.subscribeAsync(`dh/v1/devices/${device.id}/errors`, { qos: 1 });
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, '{not json', { qos: 1 });
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'motion', detected: true }), { qos: 1 });
      await waitFor(() => errors.length === 1, 5000, 'the error message');
      expect(errors[0]!.error).toBe('bad_json');
      await waitFor(async () => {
        const series = await stack.platform.influx.query(`SELECT count("detected") FROM "motion" WHERE "device" = '${device.id}'`);
        return series[0]?.values[0]?.[1] === 1;
      }, 15_000, 'the good reading in InfluxDB');
    } finally {
      await client.endAsync();
    }
  });
});
