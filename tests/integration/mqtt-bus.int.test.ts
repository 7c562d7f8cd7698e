import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusTopics } from '../../core/bus.js';
import { PlatformError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { connectMqttBus, createMqttBus, MAX_BUS_PAYLOAD_BYTES, type MqttBus } from '../../core/mqtt-bus.js';
import type { Alert } from '../../core/schemas/alert.js';
import type { DeviceStatus, ObservedMessage } from '../../core/schemas/observation.js';
import type { BusService } from '../../core/service-accounts.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { errorsTopic, readingsTopic } from '../support/devices.js';
import { waitFor } from '../support/stack.js';

const SECRET = 'test-bus-secret-0123456789';
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn');

type ConnectError = Error & { code?: number };
/** mqtt.js rejects a SUBACK that holds a 0x80; the packet still carries every grant. */
const grants = (client: MqttClient, topics: string[]) =>
  client.subscribeAsync(topics, { qos: 1 }).then(
    (granted) => granted.map((g) => g.qos),
    (err: Error & { packet?: { granted: number[] } }) => err.packet?.granted,
  );
const closedByBroker = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));

const alertOf = (seq: number): Alert => ({
  id: `a-${seq}`, seq, residentId: 'r-1', dong: '1111051500', kind: 'sos', rule: 'sos', severity: 'critical',
  status: 'open', level: 'dong', openedAt: 1_764_201_600_000, lastSeenAt: 1_764_201_600_000, count: 1, lastValue: null,
  reason: 'the emergency button was pressed', detail: { type: 'sos' }, history: [{ at: 1_764_201_600_000, action: 'opened', by: 'system' }],
});
const statusOf = (at: number): DeviceStatus => ({ deviceId: 'd-1', residentId: 'r-1', dong: '1111051500', online: at % 2 === 0, at });
const observedOf = (n: number): ObservedMessage => ({
  residentId: 'r-1', deviceId: `d-${n}`, dong: '1111051500', receivedAt: 1_764_201_600_000 + n, firstOutboxId: n * 5,
  readings: Array.from({ length: 5 }, (_, k) => ({ type: 'heart_rate' as const, ts: 1_764_201_600_000 + n * 5 + k, fields: { bpm: 60 + k } })),
});

const samples: { [T in keyof BusTopics]: BusTopics[T] } = {
  observations: [observedOf(1), observedOf(2)],
  'device-status': statusOf(1),
  resident: {
    id: 'r-1', displayName: '김동행', dong: '1111051500', inactivityHours: 24, enabled: true, createdAt: 1, updatedAt: 2,
    vitalBands: { spo2: { lowCritical: 91 } },
  },
  device: { id: 'd-1', residentId: 'r-1', dong: '1111051500', kind: 'gateway', offlineAfterMinutes: 30, enabled: false, createdAt: 1 },
  staff: { id: 's-1', username: 'nurse.kim', displayName: '김간호', role: 'nurse', dongs: ['1111051500'] },
  alert: alertOf(1),
  'alerts-cursor': 4711,
};
const topics = Object.keys(samples) as (keyof BusTopics)[];

describe('the services bus over MQTT', () => {
  let broker: TestBroker;
  const buses: MqttBus[] = [];
  const connect = async (service: BusService, options: { onHandlerError?: (topic: string, err: unknown) => void } = {}) => {
    const bus = await connectMqttBus({ url: broker.url, service, secret: SECRET, log, ...options });
    buses.push(bus);
    return bus;
  };
  const connectRaw = (username: string, password: string) =>
    mqtt.connectAsync(broker.url, { clientId: username, username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  const metricsText = () => broker.metrics.registry.metrics();

  // A broker each: no test sees another's connections, accounts or counters.
  beforeEach(async () => {
    broker = await startTestBroker({ busSecret: SECRET });
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
    await broker?.close();
  });

  it('delivers every kind of message from one service to another as it was published', async () => {
    const web = await connect('web');
    const alerts = await connect('alerts');
    const received: Partial<Record<keyof BusTopics, unknown>> = {};
    for (const topic of topics) web.subscribe(topic, (message) => (received[topic] = message));
    await web.ready();
    for (const topic of topics) alerts.publish(topic, samples[topic]);
    await waitFor(() => Object.keys(received).length === topics.length, 5000, 'one message of each topic');
    expect(received).toEqual(samples);
    expect(broker.accepted()).toBe(0); // never taken for readings
  });

  it('delivers 1,000 messages of one topic in the order they were published, none rate limited', async () => {
    const web = await connect('web');
    const alerts = await connect('alerts');
    const seen: number[] = [];
    web.subscribe('device-status', (status) => seen.push(status.at));
    await web.ready();
    for (let at = 0; at < 1000; at++) alerts.publish('device-status', statusOf(at));
    await waitFor(() => seen.length === 1000, 15_000, '1,000 statuses');
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, at) => at));
    expect(await metricsText()).not.toMatch(/reason="rate_limited"/);
  });

  it('delivers an observations array far above the payload limit as several arrays, complete and in order', async () => {
    const web = await connect('web');
    const alerts = await connect('alerts');
    const arrays: ObservedMessage[][] = [];
    web.subscribe('observations', (messages) => arrays.push(messages));
    await web.ready();
    const observed = Array.from({ length: 3000 }, (_, n) => observedOf(n));
    expect(JSON.stringify(observed).length).toBeGreaterThan(4 * MAX_BUS_PAYLOAD_BYTES);
    alerts.publish('observations', observed);
    await waitFor(() => arrays.flat().length === observed.length, 10_000, 'every observed message');
    expect(arrays.length).toBeGreaterThan(4);
    expect(arrays.every((a) => a.length > 0)).toBe(true);
    expect(arrays.flat()).toEqual(observed);
  });

  it('does not send a single message above the payload limit', async () => {
    const web = await connect('web');
    const alerts = await connect('alerts');
    const seen: Alert[] = [];
    web.subscribe('alert', (alert) => seen.push(alert));
    await web.ready();
    alerts.publish('alert', { ...alertOf(1), reason: 'x'.repeat(MAX_BUS_PAYLOAD_BYTES) });
    alerts.publish('alert', alertOf(2));
    await waitFor(() => seen.length === 1, 5000, 'the next alert');
    expect(seen.map((a) => a.seq)).toEqual([2]);
  });

  it('keeps the other handlers of a message going when one throws, and reports it', async () => {
    const failures: string[] = [];
    const web = await connect('web', { onHandlerError: (topic, err) => failures.push(`${topic}: ${(err as Error).message}`) });
    const alerts = await connect('alerts');
    const seen: number[] = [];
    web.subscribe('alert', () => {
      throw new Error('console down');
    });
    web.subscribe('alert', (alert) => seen.push(alert.seq));
    await web.ready();
    alerts.publish('alert', alertOf(1));
    alerts.publish('alert', alertOf(2));
    await waitFor(() => seen.length === 2, 5000, 'both alerts');
    expect(failures).toEqual(['alert: console down', 'alert: console down']);
  });

  it('keeps nothing at the broker for a service that is away (clean sessions: services catch up from the stores)', async () => {
    const first = await connect('web');
    first.subscribe('alert', () => {});
    await first.ready();
    await first.close();
    const alerts = await connect('alerts');
    for (let seq = 1; seq <= 100; seq++) alerts.publish('alert', alertOf(seq));

    const restarted = await connect('web');
    const seen: number[] = [];
    restarted.subscribe('alert', (alert) => seen.push(alert.seq));
    await restarted.ready();
    alerts.publish('alert', alertOf(101));
    await waitFor(() => seen.length > 0, 5000, 'the alert published after the restart');
    // Had the broker kept a session, the 100 would come first.
    expect(seen).toEqual([101]);
  });

  it('works in the broker\'s own process too, straight into aedes (no client, no socket)', async () => {
    const inBroker = createMqttBus(broker.broker.busTransport(), { service: 'broker', log });
    buses.push(inBroker);
    inBroker.serve({ replayPage: (params: { after: number }) => ({ messages: [], through: params.after + 1 }) });
    const cursors: number[] = [];
    inBroker.subscribe('alerts-cursor', (cursor) => cursors.push(cursor));
    await inBroker.ready();
    const alerts = await connect('alerts');
    const observed: ObservedMessage[] = [];
    alerts.subscribe('observations', (messages) => observed.push(...messages));
    await alerts.ready();

    alerts.publish('alerts-cursor', 41);
    await waitFor(() => cursors.length === 1, 5000, 'the cursor in the broker process');
    expect(cursors).toEqual([41]);
    await expect(alerts.request('broker', 'replayPage', { after: 7 })).resolves.toEqual({ messages: [], through: 8 });
    inBroker.publish('observations', [observedOf(1), observedOf(2)]);
    await waitFor(() => observed.length === 2, 5000, 'the observations from the broker process');
    expect(observed).toEqual([observedOf(1), observedOf(2)]);
    expect(broker.accepted()).toBe(0); // nothing of it was taken for a reading
  });

  it('stops delivering to a handler once it unsubscribes', async () => {
    const web = await connect('web');
    const alerts = await connect('alerts');
    const gone: number[] = [];
    const kept: number[] = [];
    const unsubscribe = web.subscribe('alert', (alert) => gone.push(alert.seq));
    web.subscribe('alert', (alert) => kept.push(alert.seq));
    await web.ready();
    alerts.publish('alert', alertOf(1));
    await waitFor(() => kept.length === 1, 5000, 'the first alert');
    unsubscribe();
    alerts.publish('alert', alertOf(2));
    await waitFor(() => kept.length === 2, 5000, 'the second alert');
    expect(gone).toEqual([1]);
  });

  describe('request/response', () => {
    it('answers with the value of the serving method', async () => {
      const alerts = await connect('alerts');
      alerts.serve({ acknowledge: async (params: { alertId: string; by: string }) => ({ ...alertOf(7), status: 'acknowledged', by: params.by }) });
      await alerts.ready();
      const web = await connect('web');
      await expect(web.request('alerts', 'acknowledge', { alertId: 'a-7', by: 'nurse.kim' })).resolves.toMatchObject({ seq: 7, status: 'acknowledged', by: 'nurse.kim' });
    });

    it("carries a PlatformError of the method to the requester with its code, and hides any other error's message", async () => {
      const alerts = await connect('alerts');
      alerts.serve({
        resolve: () => {
          throw new PlatformError('conflict', 'the alert is resolved already');
        },
        page: () => {
          throw new Error('SQLITE_CORRUPT at /data/alerts.db');
        },
      });
      await alerts.ready();
      const web = await connect('web');
      const conflict = await web.request('alerts', 'resolve', {}).catch((err: unknown) => err);
      expect(conflict).toBeInstanceOf(PlatformError);
      expect(conflict).toMatchObject({ code: 'conflict', httpStatus: 409, message: 'the alert is resolved already' });
      const internal = await web.request('alerts', 'page', {}).catch((err: unknown) => err);
      expect(internal).toMatchObject({ code: 'internal' });
      expect((internal as Error).message).not.toMatch(/SQLITE/);
    });

    it('answers not_found for a method the service does not serve', async () => {
      const alerts = await connect('alerts');
      alerts.serve({ acknowledge: () => 'ok' });
      await alerts.ready();
      const web = await connect('web');
      await expect(web.request('alerts', 'drop_tables', {})).rejects.toMatchObject({ code: 'not_found' });
    });

    it('gives up on a service that does not answer in time', async () => {
      const web = await connect('web');
      const started = Date.now();
      await expect(web.request('broker', 'ping', {}, 300)).rejects.toMatchObject({ name: 'PlatformError', code: 'store_unavailable' });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('does not execute a request that arrives after it expired', async () => {
      const calls: unknown[] = [];
      const alerts = await connect('alerts');
      alerts.serve({ acknowledge: (params: unknown) => calls.push(params) });
      await alerts.ready();
      // Requests as a console sends them, from one connection so they arrive in order: the first one
      // its sender had given up on before it arrived, then a fresh one.
      const web = await connectRaw('svc:web', SECRET);
      const replies: { id: string }[] = [];
      web.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString()) as { id: string }));
      await web.subscribeAsync('dh/v1/svc/reply/svc:web', { qos: 1 });
      const request = (id: string, alertId: string, expiresAt: number) =>
        web.publishAsync('dh/v1/svc/rpc/alerts', JSON.stringify({ id, method: 'acknowledge', params: { alertId }, replyTo: 'dh/v1/svc/reply/svc:web', expiresAt }), { qos: 1 });
      await request('late-1', 'a-late', Date.now() - 1);
      await request('fresh-1', 'a-now', Date.now() + 10_000);
      await waitFor(() => replies.some((r) => r.id === 'fresh-1'), 5000, 'the answer to the fresh request');
      expect(calls).toEqual([{ alertId: 'a-now' }]);
      expect(replies.map((r) => r.id)).toEqual(['fresh-1']);
      await web.endAsync();
    });

    it('rejects the requests still waiting when the bus closes', async () => {
      const web = await connect('web');
      const waiting = web.request('alerts', 'acknowledge', {}, 30_000).catch((err: unknown) => err);
      await web.close();
      expect(await waiting).toMatchObject({ code: 'store_unavailable' });
    });
  });

  describe('service accounts', () => {
    it('refuses a service with the wrong secret with CONNACK 4, and says why', async () => {
      await expect(connectMqttBus({ url: broker.url, service: 'alerts', secret: 'not-the-bus-secret-at-all', log })).rejects.toThrow(/refused.*CONNACK 4.*BUS_SECRET/);
      const refused = await connectRaw('svc:alerts', 'not-the-bus-secret-at-all').catch((err: ConnectError) => err);
      expect((refused as ConnectError).code).toBe(4);
      expect(await metricsText()).toMatch(/dh_broker_rejections_total\{reason="bad_credentials"\} 2/);
    });

    it('refuses an account that is not one of the services, and a client id that is not the username', async () => {
      expect(((await connectRaw('svc:all', SECRET).catch((err: ConnectError) => err)) as ConnectError).code).toBe(4);
      const mismatch = await mqtt
        .connectAsync(broker.url, { clientId: 'svc:web', username: 'svc:alerts', password: SECRET, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 })
        .catch((err: ConnectError) => err);
      expect((mismatch as ConnectError).code).toBe(2);
    });

    it('confines a service to the services topics: no device topics, no wildcard over everything', async () => {
      const device = await broker.addDevice();
      const web = await connectRaw('svc:web', SECRET);
      try {
        expect(await grants(web, [errorsTopic(device.id), readingsTopic(device.id), 'dh/v1/devices/#', '#', 'dh/v1/svc/#'])).toEqual([128, 128, 128, 128, 1]);
        const closed = closedByBroker(web);
        web.publish(readingsTopic(device.id), JSON.stringify({ type: 'sos' }), { qos: 1 });
        await closed;
      } finally {
        await web.endAsync(true);
      }
      expect(broker.accepted()).toBe(0);
      const text = await metricsText();
      expect(text).toMatch(/reason="subscribe_not_authorized"\} 4/);
      expect(text).toMatch(/reason="publish_not_authorized"\} 1/);
    });

    it('keeps a device out of the services topics', async () => {
      const web = await connect('web');
      const seen: Alert[] = [];
      web.subscribe('alert', (alert) => seen.push(alert));
      await web.ready();
      const device = await broker.addDevice();
      const client = await broker.connectDevice(device);
      try {
        expect(await grants(client, ['dh/v1/svc/#', '#', 'dh/v1/svc/bus/alert', 'dh/v1/svc/reply/svc:web'])).toEqual([128, 128, 128, 128]);
        const closed = closedByBroker(client);
        client.publish('dh/v1/svc/bus/alert', JSON.stringify(alertOf(666)), { qos: 1 });
        await closed;
      } finally {
        await client.endAsync(true);
      }
      const alerts = await connect('alerts');
      alerts.publish('alert', alertOf(1));
      await waitFor(() => seen.length === 1, 5000, 'the service alert');
      expect(seen.map((a) => a.seq)).toEqual([1]);
    });

    it('never turns a service connection into device status', async () => {
      const statuses: DeviceStatus[] = [];
      broker.bus.subscribe('device-status', (status) => statuses.push(status));
      const raw = await mqtt.connectAsync(broker.url, {
        clientId: 'svc:broker', username: 'svc:broker', password: SECRET, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
        will: { topic: 'dh/v1/svc/bus/device-status', payload: Buffer.from(JSON.stringify(statusOf(1))), qos: 1, retain: false },
      });
      raw.stream.destroy(); // an unclean drop: the will goes to the services topic, not to device status
      await raw.endAsync(true);
      const device = await broker.addDevice();
      const client = await broker.connectDevice(device);
      await client.publishAsync(`dh/v1/devices/${device.id}/status`, JSON.stringify({ online: true }), { qos: 1 });
      await waitFor(() => statuses.length > 0, 5000, 'the device status');
      await client.endAsync();
      expect(statuses.map((s) => s.deviceId)).toEqual([device.id]);
    });
  });
});

describe('service accounts on a broker without a bus secret', () => {
  let broker: TestBroker;
  beforeEach(async () => {
    broker = await startTestBroker();
  });
  afterEach(async () => {
    await broker?.close();
  });

  it('refuses svc: usernames as it refuses unknown devices', async () => {
    await expect(connectMqttBus({ url: broker.url, service: 'alerts', secret: SECRET, log })).rejects.toThrow(/CONNACK 4/);
    expect(await broker.metrics.registry.metrics()).toMatch(/dh_broker_rejections_total\{reason="bad_credentials"\} 1/);
  });
});

describe('service accounts at the connection cap', () => {
  let broker: TestBroker;
  beforeEach(async () => {
    broker = await startTestBroker({ busSecret: SECRET, limits: { maxConnections: 1, deviceRate: 50, deviceBurst: 200 } });
  });
  afterEach(async () => {
    await broker?.close();
  });

  it('lets the services in when devices fill the cap', async () => {
    const [first, second] = [await broker.addDevice(), await broker.addDevice()];
    const device = await broker.connectDevice(first);
    const bus = await connectMqttBus({ url: broker.url, service: 'alerts', secret: SECRET, log });
    try {
      expect(((await broker.connectDevice(second).catch((err: ConnectError) => err)) as ConnectError).code).toBe(3);
    } finally {
      await bus.close();
      await device.endAsync();
    }
  });
});
