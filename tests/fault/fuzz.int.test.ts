import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const knownCodes = new Set(Object.keys(ErrorCodes));

/** Payloads a confused or hostile device might send: random JSON, bytes, huge numbers, deep nesting, wrong types. */
const hostilePayload = fc.oneof(
  fc.json().map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
  fc.record({
    type: fc.oneof(fc.constantFrom('spo2', 'blood_pressure', 'glucose', 'motion', 'sos', 'weight', 'steps'), fc.string()),
    spo2: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null)),
    systolic: fc.oneof(fc.double({ min: -1e308, max: 1e308 }), fc.bigInt().map(String)),
    diastolic: fc.anything(),
    ts: fc.oneof(fc.integer(), fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
  }).map((o) => Buffer.from(JSON.stringify(o))),
  fc.integer({ min: 1, max: 400 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
  fc.array(fc.anything(), { maxLength: 20 }).map((readings) => Buffer.from(JSON.stringify({ readings }))),
);

describe('fuzzing the device and staff edges', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The fuzz aims at parsing, not at the per-device rate limit (tests/integration/broker.int.test.ts covers that).
    stack = await startStack({ MQTT_DEVICE_RATE: '1000000', MQTT_DEVICE_BURST: '1000000' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 10,000 hostile payloads with known codes, never crashes, and still stores the valid neighbours', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const device = await stack.addDevice(resident.id, 'gateway');
    const client = await stack.connectDevice(device);
    const answered: string[] = [];
    client.on('message', (_t, payload) => answered.push((JSON.parse(payload.toString()) as { error: string }).error));
    await client.subscribeAsync(`dh/v1/devices/${device.id}/errors`, { qos: 1 });

    const cases = fc.sample(hostilePayload, { numRuns: 10_000, seed: 20261127 });
    const topic = `dh/v1/devices/${device.id}/readings`;
    let validSent = 0;
    const base = Date.now() - 60_000;
    for (let i = 0; i < cases.length; i += 100) {
      const chunk = cases.slice(i, i + 100);
      // A valid neighbour after every hundred hostile messages, each with its own ts.
      const valid = Buffer.from(JSON.stringify({ type: 'heart_rate', bpm: 70, ts: base + i }));
      validSent++;
      await Promise.all([...chunk, valid].map((payload) => client.publishAsync(topic, payload, { qos: 1 })));
    }
    await client.endAsync();

    // Every error the platform sent back is a registered code.
    expect(answered.length).toBeGreaterThan(1000);
    expect(answered.filter((code) => !knownCodes.has(code))).toEqual([]);
    await waitFor(async () => {
      const [series] = await stack.platform.influx.query(`SELECT count("bpm") FROM "heart_rate" WHERE "device" = '${device.id}' AND "bpm" = 70`);
      return Number(series?.values[0]?.[1] ?? 0) >= validSent;
    }, 30_000, 'every valid neighbour in InfluxDB');
    expect((await stack.api<{ status: string }>('/healthz')).body.status).toBe('ok');
  });

  it('answers random REST bodies with a 4xx code and a known error, never a 500', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/residents'], ['POST', '/api/devices'], ['POST', '/api/staff'], ['POST', '/api/login'],
      ['POST', '/api/alerts/a_nope/ack'], ['POST', '/api/alerts/a_nope/resolve'], ['PATCH', '/api/residents/r_nope'],
    ];
    const bodies = fc.sample(fc.oneof(fc.anything(), fc.json().map((s) => JSON.parse(s) as unknown)), { numRuns: 300, seed: 7 });
    for (const body of bodies) {
      for (const [method, path] of routes) {
        const response = await fetch(`${stack.httpUrl}${path}`, {
          method,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
          body: JSON.stringify(body) ?? 'null',
        });
        const answer = (await response.json()) as { error?: string };
        if (response.status >= 500 || !knownCodes.has(answer.error ?? '')) {
          throw new Error(`${method} ${path} with ${JSON.stringify(body)?.slice(0, 200)} → ${response.status} ${JSON.stringify(answer)}`);
        }
        expect(response.status).toBeGreaterThanOrEqual(400);
      }
    }
  });
});
