import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { InfluxClient, InfluxSeries } from '../../influx/client.js';
import { startManagedInfluxd, type ManagedInfluxd } from '../../influx/managed-influxd.js';
import { countPoints, readingsTopic } from '../support/devices.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const MESSAGES = 100;
const PER_MESSAGE = 100;

describe('an InfluxDB outage', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const health = async () => (await stack.api<{ status: string; checks: Record<string, { ok: boolean }> }>('/healthz')).body;

  it('keeps 10,000 PUBACKed readings while influxd is down and stores each exactly once when it is back', async () => {
    const influxd = stack.platform.managedInfluxd!;
    expect(influxd).toBeDefined();
    const resident = await stack.addResident({ dong: '1111051500' });
    const device = await stack.addDevice(resident.id, 'gateway');
    const client = await stack.connectDevice(device);
    try {
      await influxd.stop();
      const base = Date.now() - 10 * 60_000;
      let acked = 0;
      for (let m = 0; m < MESSAGES; m++) {
        const readings = Array.from({ length: PER_MESSAGE }, (_, k) => ({ type: 'heart_rate', bpm: 60 + (k % 30), ts: base + m * PER_MESSAGE + k }));
        await client.publishAsync(readingsTopic(device.id), JSON.stringify({ readings }), { qos: 1 });
        acked += PER_MESSAGE;
      }
      expect(acked).toBe(10_000);
      expect(stack.platform.ingest.health().backlog).toBe(10_000);

      await waitFor(async () => (await health()).status === 'degraded', 15_000, '/healthz to say degraded');
      expect((await health()).checks.influxdb?.ok).toBe(false);
      await waitFor(async () => /dh_ingest_outbox_backlog 10000\n/.test(await (await fetch(`${stack.httpUrl}/metrics`)).text()), 5000, 'the backlog gauge');

      await influxd.start();
      await waitFor(() => stack.platform.ingest.health().backlog === 0, 45_000, 'the outbox to drain');
      expect(await countPoints(stack.platform.influx, 'heart_rate', device.id)).toBe(10_000);
      await waitFor(async () => (await health()).status === 'ok', 15_000, '/healthz back to ok');
    } finally {
      await client.endAsync();
    }
  });
});

/** InfluxQL without our client (which would create the database itself). */
async function rawQuery(url: string, db: string, q: string): Promise<InfluxSeries[]> {
  const response = await fetch(`${url}/query?${new URLSearchParams({ db, q, epoch: 'ms' }).toString()}`);
  const body = (await response.json()) as { results?: { series?: InfluxSeries[] }[] };
  return body.results?.[0]?.series ?? [];
}

describe('a platform started while its InfluxDB (INFLUX_URL) is away', () => {
  let influxd: ManagedInfluxd;
  let stack: Stack | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'dh-influx-away-'));
  beforeAll(async () => {
    influxd = await startManagedInfluxd(dir, createLogger('silent'));
    await influxd.stop();
  });
  afterAll(async () => {
    await stack?.close();
    await influxd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts degraded, accepts readings, and stores them once InfluxDB comes up', async () => {
    stack = await startStack({ INFLUX_URL: influxd.url, INFLUX_DB: 'late' });
    await waitFor(async () => (await stack!.api<{ status: string }>('/healthz')).body.status === 'degraded', 15_000, 'degraded');
    const resident = await stack.addResident({ dong: '1111051500' });
    const device = await stack.addDevice(resident.id, 'scale');
    const client = await stack.connectDevice(device);
    try {
      await client.publishAsync(readingsTopic(device.id), JSON.stringify({ type: 'weight', kg: 60.5, ts: Date.now() - 1000 }), { qos: 1 });
      await influxd.start();
      // The database did not exist when the platform started; its first connection creates it.
      const influx = { query: (q: string) => rawQuery(influxd.url, 'late', q) } as unknown as InfluxClient;
      await waitFor(async () => (await countPoints(influx, 'weight', device.id)) === 1, 45_000, 'the reading in InfluxDB');
      await waitFor(async () => (await stack!.api<{ status: string }>('/healthz')).body.status === 'ok', 15_000, 'ok again');
    } finally {
      await client.endAsync();
    }
  });
});
