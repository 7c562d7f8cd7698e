import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEngine } from '../alerts/engine.js';
import { openAlertStore } from '../alerts/store.js';
import { createInProcessBus } from '../core/bus.js';
import { FakeClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import type { Observation } from '../core/schemas/observation.js';
import type { Device, Resident } from '../core/schemas/registry.js';
import type { AlertLoadJob, AlertLoadResult } from './alerts-load-worker.js';
import type { Bench, BenchResult } from './run.js';
import { runWorker, startBenchPlatform } from './support.js';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const DONG = '1111051500';

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (n: number) => Number(n.toFixed(3));

/**
 * Deadline scans over 100,000 residents and 300,000 devices (DESIGN §1 design
 * point), engine on a FakeClock over a real SQLite store in a temp dir. Every
 * device reports every 5 minutes; 1 % of the residents never move, so their
 * missed check-ins fall due during the run; everyone's initial last activity is
 * spread over the past day, so ~1 stale deadline a second comes due and is
 * rescheduled. Each simulated second: the readings of that second, then a
 * scan timed in its two halves: the deadline evaluation (index and rules, the
 * DESIGN §5 bar) and the commit that follows (alerts fired plus the state
 * flush the scan timer does: one SQLite transaction, fsync included).
 */
export async function scanBench(quick: boolean): Promise<BenchResult> {
  const residentsN = 100_000;
  const simulatedSeconds = quick ? 300 : 1200;
  const dir = mkdtempSync(join(tmpdir(), 'dh-bench-alerts-'));
  try {
    const t0 = Date.UTC(2026, 10, 27, 9);
    const clock = new FakeClock(t0);
    const store = openAlertStore(join(dir, 'alerts.db'));
    const bus = createInProcessBus(() => {});
    let alertEvents = 0;
    bus.subscribe('alert', () => alertEvents++);
    const residents: Resident[] = [];
    const devices: Device[] = [];
    for (let i = 0; i < residentsN; i++) {
      const id = `r${i}`;
      residents.push({ id, displayName: 'x', dong: `d${i % 426}`, inactivityHours: 24, enabled: true, createdAt: t0 - 24 * hour, updatedAt: t0 - 24 * hour });
      devices.push(
        { id: `m${i}`, residentId: id, dong: `d${i % 426}`, kind: 'motion_sensor', offlineAfterMinutes: 60, enabled: true, createdAt: t0 - 24 * hour },
        { id: `p${i}`, residentId: id, dong: `d${i % 426}`, kind: 'smart_plug', offlineAfterMinutes: 60, enabled: true, createdAt: t0 - 24 * hour },
        { id: `b${i}`, residentId: id, dong: `d${i % 426}`, kind: 'button', offlineAfterMinutes: 24 * 60, enabled: true, createdAt: t0 - 24 * hour },
      );
    }
    let started = performance.now();
    const engine = new AlertEngine({ store, bus, clock, log: createLogger('silent'), metrics: createMetrics() }, residents, devices);
    const startMs = performance.now() - started;

    const silent = (i: number) => i % 100 === 0;
    const reading = (device: Device, i: number, ts: number): Observation => {
      const base = { residentId: device.residentId, deviceId: device.id, dong: device.dong, ts, receivedAt: clock.now() };
      if (device.kind === 'motion_sensor') return { ...base, type: 'motion', fields: { detected: !silent(i) } };
      if (device.kind === 'smart_plug') return { ...base, type: 'power', fields: { watts: 3 } };
      return { ...base, type: 'checkin_button', fields: {} }; // the button's daily press
    };
    // Everyone's last activity somewhere in the past day (the index is full of stale deadlines).
    let rng = 42;
    const random = () => ((rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < residentsN; i += 500) {
      const batch: Observation[] = [];
      for (let j = i; j < i + 500; j++) batch.push({ ...reading(devices[3 * j]!, j, t0 - random() * 24 * hour), fields: { detected: true } });
      engine.handleObservations(batch);
    }
    // The residents' first deadlines were scheduled from their creation a day ago: let them come up once.
    engine.evaluateDeadlines();
    engine.flush();

    const scans: number[] = [];
    const flushes: number[] = [];
    let touched = 0;
    let observed = 0;
    let observeMs = 0;
    const reportEvery = 300; // each device once in 5 min
    for (let s = 0; s < simulatedSeconds; s++) {
      const batch: Observation[] = [];
      for (let d = s % reportEvery; d < devices.length; d += reportEvery) {
        const device = devices[d]!;
        if (device.kind === 'button' && s % 2 === 1) continue;
        batch.push(reading(device, Math.floor(d / 3), clock.now()));
      }
      started = performance.now();
      for (let i = 0; i < batch.length; i += 500) engine.handleObservations(batch.slice(i, i + 500));
      observeMs += performance.now() - started;
      observed += batch.length;
      clock.advance(second);
      started = performance.now();
      touched += engine.evaluateDeadlines();
      scans.push(performance.now() - started);
      started = performance.now();
      engine.flush(); // commits what fired with the state, as engine.scan() + the timer's flush do
      flushes.push(performance.now() - started);
    }
    scans.sort((a, b) => a - b);
    flushes.sort((a, b) => a - b);

    // A restart after two hours down: deadlines that passed meanwhile fire on the first scan.
    engine.close();
    const restartClock = new FakeClock(clock.now() + 2 * hour);
    started = performance.now();
    const restarted = new AlertEngine({ store, bus, clock: restartClock, log: createLogger('silent'), metrics: createMetrics() }, residents, devices);
    const restartMs = performance.now() - started;
    const eventsBefore = alertEvents;
    started = performance.now();
    const catchUpTouched = restarted.evaluateDeadlines();
    const catchUpMs = performance.now() - started;
    started = performance.now();
    restarted.flush();
    const catchUpCommitMs = performance.now() - started;
    const catchUpAlerts = alertEvents - eventsBefore;
    restarted.close();
    store.close();

    const p99 = percentile(scans, 0.99);
    return {
      name: 'alerts-scan',
      figures: {
        residents: residentsN,
        devices: devices.length,
        simulated_s: simulatedSeconds,
        scans: scans.length,
        deadlines_touched_per_scan: ms(touched / scans.length),
        scan_p50_ms: ms(percentile(scans, 0.5)),
        scan_p99_ms: ms(p99),
        scan_max_ms: ms(scans.at(-1)!),
        commit_p50_ms: ms(percentile(flushes, 0.5)),
        commit_max_ms: ms(flushes.at(-1)!),
        alert_changes: alertEvents,
        observations_per_s: Math.round(observed / (observeMs / 1000)),
        engine_start_ms: Math.round(startMs),
        restart_start_ms: Math.round(restartMs),
        catch_up_deadlines: catchUpTouched,
        catch_up_scan_ms: ms(catchUpMs),
        catch_up_commit_ms: ms(catchUpCommitMs),
        catch_up_alert_changes: catchUpAlerts,
      },
      ratios: { scan_p99_of_10ms_bar: p99 / 10, scan_max_of_10ms_bar: scans.at(-1)! / 10 },
      notes: 'engine on a FakeClock over SQLite (synchronous=FULL) in a temp dir; scan = evaluation of the due deadlines; commit = the transaction after it',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Alert latency, publish → Socket.io `alert`, at 5,000 readings/s: the whole
 * platform in this process (real MQTT, outbox, InfluxDB, alerts, web), the
 * devices and a console client in a child process. One reading in 50 is an
 * abnormal SpO2 (100 alert changes/s), the rest normal. A warm-up at the same
 * rate comes first: its tail (connections, JIT, the first commits) is
 * reported apart, as `warmup_latency_max_ms`.
 */
export async function latencyBench(quick: boolean): Promise<BenchResult> {
  const { platform, close } = await startBenchPlatform();
  try {
    const { registry } = platform;
    const normal: AlertLoadJob['normal'] = [];
    const abnormal: AlertLoadJob['abnormal'] = [];
    for (let i = 0; i < 250; i++) {
      const resident = registry.createResident({ displayName: `bench ${i}`, dong: DONG });
      const { device, secret } = await registry.createDevice({ residentId: resident.id, kind: 'pulse_oximeter' });
      if (i < 50) abnormal.push({ id: device.id, secret, residentId: resident.id });
      else normal.push({ id: device.id, secret });
    }
    const staff = await registry.createStaff({ username: 'bench-staff', password: 'bench-staff-password', displayName: 'bench', role: 'staff', dongs: [DONG] });
    const readingsPerSecond = 5000;
    const result = await runWorker<AlertLoadResult>('alerts-load-worker.js', {
      mqttUrl: `mqtt://127.0.0.1:${platform.ports.mqtt}`,
      httpUrl: `http://127.0.0.1:${platform.ports.http}`,
      token: registry.createSession(staff.id),
      normal, abnormal, readingsPerSecond, abnormalEvery: 50, warmupSeconds: quick ? 1 : 2, seconds: quick ? 5 : 15,
    } satisfies AlertLoadJob);
    return {
      name: 'alerts-latency',
      figures: {
        target_readings_per_s: readingsPerSecond,
        achieved_readings_per_s: Math.round((result.sent - readingsPerSecond * (quick ? 1 : 2)) / result.seconds),
        acked: result.acked,
        sent: result.sent,
        abnormal: result.abnormalSent,
        alerts_seen: result.settled,
        latency_p50_ms: result.latencyMs.p50,
        latency_p99_ms: result.latencyMs.p99,
        latency_max_ms: result.latencyMs.max,
        warmup_latency_max_ms: result.warmupMaxMs,
      },
      ratios: { latency_p99_of_250ms_bar: result.latencyMs.p99 / 250 },
      notes: 'platform in-process with its managed influxd; 250 devices and one console socket in a child process; the first seconds (warm-up: connections, JIT) are sent at the same rate but not measured',
    };
  } finally {
    await close();
  }
}

export const run: Bench = async ({ quick }) => [await scanBench(quick), await latencyBench(quick)];
