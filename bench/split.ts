import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../core/logger.js';
import { waitFor } from '../core/net.js';
import { connectInflux } from '../influx/client.js';
import { startManagedInfluxd } from '../influx/managed-influxd.js';
import { countStored, measureRaw, RAW_IN_FLIGHT, timeFleet } from './ingest.js';
import type { Bench } from './run.js';
import { cpuSeconds, metricOf, provision, startPlatformProcess } from './support.js';

const BUS_SECRET = 'bench-split-bus-secret-0123456789';

/** How far the alerts process has processed the outbox (its /healthz reports it). */
async function alertsProcessed(httpUrl: string): Promise<number> {
  const health = (await (await fetch(`${httpUrl}/healthz`)).json()) as { checks: { observations: { detail: number } } };
  return health.checks.observations.detail;
}

/**
 * The gateway mix of the ingest bench through the split processes (SERVICE=broker|alerts|web, one
 * process each, meeting on the services' bus), against raw line protocol to the same influxd in
 * the same run: stored readings/s and each process's CPU, and how far the alerts process is behind
 * when InfluxDB has every reading (the observations cross the bus as JSON), and how long it then
 * takes to catch up. The bars of DESIGN §7 are set on the embedded platform (`ingest`); this one
 * reports.
 */
export const run: Bench = async ({ quick }) => {
  const durationMs = quick ? 5000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'dh-bench-split-'));
  const log = createLogger('warn');
  const influxd = await startManagedInfluxd(join(dir, 'influxdb'), log);
  const services: Awaited<ReturnType<typeof startPlatformProcess>>[] = [];
  try {
    const gateways = { label: 'gateways', devices: 50, perMessage: 100, window: 8 };
    const raw = await measureRaw(influxd, gateways.devices, durationMs, RAW_IN_FLIGHT);
    const rawPerS = raw.points / raw.seconds;

    const data = join(dir, 'platform');
    const broker = await startPlatformProcess(influxd.url, data, { SERVICE: 'broker', BUS_SECRET });
    services.push(broker);
    const bus = { BUS_SECRET, BUS_URL: broker.mqttUrl };
    const alerts = await startPlatformProcess(influxd.url, data, { SERVICE: 'alerts', ...bus });
    services.push(alerts);
    const web = await startPlatformProcess(influxd.url, data, { SERVICE: 'web', ...bus });
    services.push(web);
    const influx = await connectInflux({ url: influxd.url, db: 'donghaeng' }, log);
    const devices = await provision(web, gateways.devices, 'split');

    const others = { alerts: alerts.child.pid, web: web.child.pid };
    const cpu0 = { alerts: cpuSeconds(others.alerts), web: cpuSeconds(others.web) };
    const written0 = await metricOf(broker.httpUrl, 'dh_ingest_influx_points_written_total');
    const mix = await timeFleet({
      mqttUrl: broker.mqttUrl,
      pid: broker.child.pid,
      acknowledged: () => metricOf(broker.httpUrl, 'dh_ingest_influx_points_written_total'),
      stored: () => countStored(influx, devices),
    }, influxd, gateways, devices, durationMs);
    const cpu = { alerts: cpuSeconds(others.alerts) - cpu0.alerts, web: cpuSeconds(others.web) - cpu0.web };
    // Outbox ids run from 1 in a fresh outbox, one a reading: every reading stored so far has one.
    const total = written0 + mix.readings;
    const behind = total - (await alertsProcessed(alerts.httpUrl));
    const storedAt = Date.now();
    await waitFor(async () => (await alertsProcessed(alerts.httpUrl)) >= total, 300_000, 'the alerts process to catch up', 100);
    const caughtUpSeconds = (Date.now() - storedAt) / 1000;
    // Once the alerts process says its cursor (every interval), the broker deletes what InfluxDB has too.
    await waitFor(async () => (await metricOf(broker.httpUrl, 'dh_ingest_outbox_readings')) === 0, 30_000, 'the outbox to empty', 100);

    const perS = mix.readings / mix.seconds;
    const cores = (seconds: number) => Number((seconds / mix.seconds).toFixed(2));
    return [{
      name: 'split',
      influxVersion: influx.version,
      figures: {
        raw_points_per_s: Math.round(rawPerS),
        split_readings_per_s: Math.round(perS),
        split_readings: mix.readings,
        broker_cores: cores(mix.cpu.platform),
        alerts_cores: cores(cpu.alerts),
        web_cores: cores(cpu.web),
        influxd_cores: cores(mix.cpu.influxd),
        fleet_cores: cores(mix.cpu.fleet),
        broker_us_per_reading: Number(((mix.cpu.platform / mix.readings) * 1e6).toFixed(2)),
        alerts_behind_readings: behind,
        alerts_caught_up_s: Number(caughtUpSeconds.toFixed(1)),
      },
      ratios: { split_vs_raw: perS / rawPerS },
      notes: `gateways: ${gateways.devices} × ${gateways.perMessage} readings/message, ${gateways.window} in flight each, ${durationMs / 1000} s, `
        + 'to the broker process (ingest runs there); the alerts and web processes take every observation over the services\' bus; '
        + `raw: 5000-point batches, ${RAW_IN_FLIGHT} in flight; alerts_behind_readings: readings InfluxDB had and the alerts process had not yet processed when the last was stored; `
        + 'alerts_caught_up_s: until it had; all on shared cores',
    }];
  } finally {
    for (const service of services.reverse()) await service.stop();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
