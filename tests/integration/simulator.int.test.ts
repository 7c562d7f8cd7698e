import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { parseReadingsPayload } from '../../core/schemas/readings.js';
import { AdminApi } from '../../device-simulator/admin-api.js';
import { alertIdentity, expectedAlertsOf } from '../../device-simulator/expectations.js';
import { provisionHomes, type Home } from '../../device-simulator/homes.js';
import { LOAD_KIT, runLoad } from '../../device-simulator/load.js';
import { planSequence } from '../../device-simulator/planner.js';
import { runHomes, type RunResult } from '../../device-simulator/run.js';
import { scenarioNamed } from '../../device-simulator/scenarios/index.js';
import { ADMIN_PASSWORD, startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = 'sim-test';

describe('the device simulator against the real platform', () => {
  let stack: Stack;
  let api: AdminApi;
  let certDir: string;
  let ca: Buffer;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'dh-sim-tls-'));
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    ca = Buffer.from(pems.cert);
    writeFileSync(join(certDir, 'cert.pem'), pems.cert);
    writeFileSync(join(certDir, 'key.pem'), pems.private);
    stack = await startStack({ TLS_CERT: join(certDir, 'cert.pem'), TLS_KEY: join(certDir, 'key.pem'), MQTT_TLS_PORT: '0' });
    api = await AdminApi.login(stack.httpUrl, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await stack?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  /** Provisions one home per scenario name; `silentHours` shortens the silent homes' window so the test need not wait 36 s. */
  const provision = (names: string[], seed: number, silentHours?: number): Promise<Home[]> =>
    provisionHomes(api, {
      dong: DONG,
      seed,
      homes: names.map((name) => {
        const s = scenarioNamed(name);
        return { scenario: name, devices: s.devices, ...(s.inactivityHours === undefined ? {} : { inactivityHours: silentHours ?? s.inactivityHours }) };
      }),
    });

  const alertsOf = async (home: Home): Promise<Alert[]> => (await stack.alerts(stack.adminToken, `?dong=${DONG}&limit=1000`)).filter((a) => a.residentId === home.residentId);
  const identities = (alerts: { kind: Alert['kind']; rule: string; severity: Alert['severity'] }[]) => alerts.map(alertIdentity).sort();
  const expectNoTrouble = (result: RunResult) => {
    const { stats } = result;
    expect(stats.sent).toBeGreaterThan(0);
    expect({ lost: stats.sent - stats.acked, connectFailures: stats.connectFailures, disconnects: stats.disconnects, publishErrors: stats.publishErrors }).toEqual({ lost: 0, connectFailures: 0, disconnects: 0, publishErrors: 0 });
  };

  it('plays each emergency scenario to exactly its expected alerts while normal homes raise none', async () => {
    const names = ['normal', 'normal', 'normal', 'hypertensive_crisis', 'hypoglycaemia', 'fever', 'hypoxia', 'fall', 'sos', 'silent', 'device_offline', 'gateway_backlog'];
    const homes = await provision(names, 11, 0.003); // silent: a 10.8 s window
    // An hour of life per real second: each home lives most of a day.
    const result = await runHomes(homes, { transport: { url: stack.mqttUrl }, seed: 11, speed: 3600, durationMs: 18_000, startMinute: 6 * 60 });
    expectNoTrouble(result);
    expect(result.stats.errorsReceived).toEqual({});

    const alerting = homes.filter((h) => expectedAlertsOf(h).length > 0);
    expect(alerting.map((h) => h.scenario)).toEqual(names.filter((n) => scenarioNamed(n).expect.alerts.length > 0));
    await waitFor(async () => {
      for (const home of alerting) {
        const seen = new Set(identities(await alertsOf(home)));
        if (!expectedAlertsOf(home).every((a) => seen.has(alertIdentity(a)))) return false;
      }
      return true;
    }, 15_000, 'every expected alert');
    for (const home of homes) {
      expect(identities(await alertsOf(home)), `${home.scenario} home`).toEqual(identities(expectedAlertsOf(home)));
    }

    // The gateway's backlog is stored with its old timestamps: every distinct (type, ts) it flushed.
    const gatewayHome = homes.findIndex((h) => h.scenario === 'gateway_backlog');
    const gateway = homes[gatewayHome]!.devices[0]!;
    const events = planSequence({ seed: 11, clock: result.clock, durationMs: 18_000, homes: homes.map((h) => ({ scenario: h.scenario! })) }).filter((e) => e.home === gatewayHome);
    const connectAt = events.find((e) => e.action === 'connect')!.atMs;
    const flushedAt = result.clock.startTime + connectAt;
    const backlog = new Set(
      events
        .filter((e) => e.action === 'publish' && e.atMs === connectAt && e.topic.endsWith('/readings'))
        .flatMap((e) => (e.action === 'publish' ? parseReadingsPayload(Buffer.from(e.payload), flushedAt).readings : []))
        .map((r) => `${r.type}|${r.ts}`),
    );
    expect(backlog.size).toBeGreaterThan(50);
    const stored = async () => {
      let n = 0;
      for (const [measurement, field] of [['motion', 'detected'], ['door', 'open'], ['power', 'watts']]) {
        const series = await stack.platform.influx.query(`SELECT count("${field}") FROM "${measurement}" WHERE "device" = '${gateway.id}' AND time < ${flushedAt - 1}ms`);
        n += Number(series[0]?.values[0]?.[1] ?? 0);
      }
      return n;
    };
    await waitFor(async () => (await stored()) === backlog.size, 15_000, `the gateway's ${backlog.size} backlog readings in InfluxDB`);
  });

  it('answers a bad device with an error for each bad message and a disconnect for the wrong topic, and stays healthy', async () => {
    const homes = await provision(['bad_device', 'normal'], 12);
    const [bad, normal] = homes as [Home, Home];
    const result = await runHomes(homes, { transport: { url: stack.mqttUrl }, seed: 12, speed: 600, durationMs: 7000, startMinute: 9 * 60 });
    const thermometer = result.homes[0]!.devices[0]!;
    expect(thermometer.errors.map((e) => e.error).sort()).toEqual([...scenarioNamed('bad_device').expect.errors!].sort());
    expect(thermometer.errors.find((e) => e.index !== undefined)).toMatchObject({ error: 'out_of_range', index: 1 });
    expect(thermometer.disconnects).toBe(1);
    expect(result.stats.refused).toBe(1);
    expectNoTrouble(result); // every reading, bad or good, got its PUBACK

    // The broker's disconnect fires the will: device_offline, and nothing else.
    await waitFor(async () => (await alertsOf(bad)).length > 0, 10_000, 'the bad device offline');
    expect(identities(await alertsOf(bad))).toEqual(identities(expectedAlertsOf(bad)));
    expect(await alertsOf(normal)).toEqual([]);

    const health = await stack.api<{ status: string }>('/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    // The bad device's two good readings were kept beside the bad ones.
    await waitFor(async () => {
      const series = await stack.platform.influx.query(`SELECT count("celsius") FROM "temperature" WHERE "device" = '${bad.devices[0]!.id}'`);
      return series[0]?.values[0]?.[1] === 2;
    }, 15_000, 'the bad device\'s good readings');
    // And a normal device still stores.
    const device = normal.devices.find((d) => d.kind === 'thermometer')!;
    const client = await stack.connectDevice(device);
    try {
      const ts = Date.now();
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'temperature', celsius: 36.6, ts }), { qos: 1 });
      await waitFor(async () => {
        const series = await stack.platform.influx.query(`SELECT "celsius" FROM "temperature" WHERE "device" = '${device.id}' AND time = ${ts}ms`);
        return series[0]?.values.length === 1;
      }, 15_000, 'a normal reading stored after the bad device');
    } finally {
      await client.endAsync();
    }
  });

  it('runs load briefly with every message PUBACKed, each device on its own connection', async () => {
    const devices = 50;
    const homes = await provisionHomes(api, {
      dong: 'sim-load-test',
      seed: 13,
      homes: Array.from({ length: Math.ceil(devices / LOAD_KIT.length) }, (_, i) => ({ scenario: null, devices: LOAD_KIT.slice(0, Math.min(LOAD_KIT.length, devices - i * LOAD_KIT.length)) })),
    });
    const fleet = homes.flatMap((h) => h.devices);
    expect(new Set(fleet.map((d) => d.id)).size).toBe(devices);
    let peakConnections = 0;
    const watch = setInterval(() => {
      void stack.platform.metrics.brokerConnections.get().then((g) => (peakConnections = Math.max(peakConnections, g.values[0]?.value ?? 0)));
    }, 100);
    const { stats, behind } = await runLoad(fleet, { transport: { url: stack.mqttUrl }, ratePerSecond: 200, durationMs: 3000, seed: 13 }).finally(() => clearInterval(watch));
    expect(peakConnections).toBeGreaterThanOrEqual(devices);
    expect(stats.sent).toBeGreaterThanOrEqual(590);
    expect(behind).toBe(0);
    expect(stats.acked).toBe(stats.sent);
    expect(stats.latency.count).toBe(stats.sent);
    expect(stats.latency.quantile(0.99)).toBeGreaterThan(0);
    expect({ connectFailures: stats.connectFailures, disconnects: stats.disconnects, errors: stats.errorsReceived }).toEqual({ connectFailures: 0, disconnects: 0, errors: {} });
  });

  it('speaks MQTT over WebSocket and over TLS, with the CA or without checking', async () => {
    const homes = await provision(['normal', 'normal', 'normal'], 14);
    const transports = [
      { url: `ws://127.0.0.1:${stack.platform.ports.ws}` }, // the simulator adds the /mqtt path
      { url: `mqtts://localhost:${stack.platform.ports.tls}`, ca },
      { url: `mqtts://127.0.0.1:${stack.platform.ports.tls}`, insecure: true },
    ];
    for (const [i, transport] of transports.entries()) {
      const result = await runHomes([homes[i]!], { transport, seed: 14, speed: 3600, durationMs: 2000, startMinute: 8 * 60, drainMs: 5000 });
      expectNoTrouble(result);
    }
    // Without the CA and without --insecure the self-signed broker is refused.
    const refused = await runHomes([homes[0]!], { transport: { url: `mqtts://localhost:${stack.platform.ports.tls}` }, seed: 14, speed: 3600, durationMs: 500, startMinute: 8 * 60 });
    expect(refused.stats.connectFailures).toBe(homes[0]!.devices.length);
  });
});
