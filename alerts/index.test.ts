import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../core/bus.js';
import { FakeClock } from '../core/clock.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import type { Alert } from '../core/schemas/alert.js';
import type { Observation } from '../core/schemas/observation.js';
import type { Device, Resident } from '../core/schemas/registry.js';
import { startAlerts, type AlertsDeps } from './index.js';

const minute = 60_000;
const DONG = '1111051500';
const at = Date.UTC(2026, 10, 27);
const resident: Resident = { id: 'r-1', displayName: '어르신', dong: DONG, inactivityHours: 24, enabled: true, createdAt: at, updatedAt: at };
const device: Device = { id: 'd-1', residentId: 'r-1', dong: DONG, kind: 'gateway', offlineAfterMinutes: 30, enabled: true, createdAt: at };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dh-alerts-service-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function service(clock: FakeClock, extra: Partial<AlertsDeps> = {}) {
  const bus = createInProcessBus(() => {});
  const published: Alert[] = [];
  bus.subscribe('alert', (a) => published.push(a));
  const alerts = startAlerts({
    dataDir: dir, bus, clock, log: createLogger('silent'), metrics: createMetrics(), residents: [resident], devices: [device], scanIntervalMs: 0, ...extra,
  });
  const observe = (outboxId: number, type: Observation['type'], fields: Observation['fields'] = {}) =>
    bus.publish('observations', [{ residentId: 'r-1', deviceId: 'd-1', dong: DONG, receivedAt: clock.now(), readings: [{ type, ts: clock.now(), fields }], firstOutboxId: outboxId }]);
  return { alerts, bus, published, observe };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('startAlerts', () => {
  it('publishes an alert change only after its commit, within the same event-loop turn batch', async () => {
    const clock = new FakeClock(at);
    const s = service(clock);
    s.observe(1, 'sos');
    expect(s.published).toEqual([]);
    await nextTurn();
    expect(s.published.map((a) => a.kind)).toEqual(['sos']);
    expect(s.alerts.durableCursor()).toBe(1);
    await s.alerts.close();
  });

  it('makes the cursor durable at the next scan, and keeps it, the alerts and the deadlines across a restart', async () => {
    const clock = new FakeClock(at);
    const first = service(clock);
    expect(first.alerts.durableCursor()).toBe(0);
    first.observe(1, 'checkin_button');
    first.observe(2, 'motion', { detected: true });
    expect(first.alerts.durableCursor()).toBe(0);
    first.alerts.scan();
    expect(first.alerts.durableCursor()).toBe(2);
    first.observe(3, 'spo2', { spo2: 85 });
    await nextTurn();
    const alert = first.alerts.list({ dongs: null, limit: 10 }).alerts[0]!;
    await first.alerts.close();

    clock.advance(15 * minute);
    const second = service(clock);
    expect(second.alerts.durableCursor()).toBe(3);
    expect(second.alerts.get(alert.id)?.level).toBe('nurse'); // the first scan, at start-up, caught up on the escalation
    second.observe(3, 'spo2', { spo2: 85 }); // a replay
    await nextTurn();
    expect(second.alerts.get(alert.id)?.count).toBe(1);
    await second.alerts.close();
  });

  it('takes escalation timeouts and the device list from its caller', async () => {
    const clock = new FakeClock(at);
    const s = service(clock, { escalation: { criticalMs: minute, warningMs: 5 * minute } });
    s.observe(1, 'sos');
    await nextTurn();
    clock.advance(minute);
    s.alerts.scan();
    expect(s.published.at(-1)).toMatchObject({ kind: 'sos', level: 'nurse' });
    clock.advance(30 * minute);
    s.alerts.scan();
    expect(s.published.find((a) => a.kind === 'device_offline')).toMatchObject({ rule: 'd-1', severity: 'info' });
    await s.alerts.close();
  });

  it('with firstScanAfter, fires no deadline until it settles, so a sign of life from a backlog read meanwhile answers a missed check-in', async () => {
    const missed = (s: ReturnType<typeof service>) => s.alerts.list({ dongs: null, limit: 10 }).alerts.filter((a) => a.kind === 'missed_checkin');
    const downFor25Hours = async (dataDir: string) => {
      const clock = new FakeClock(at);
      const first = service(clock, { dataDir });
      first.observe(1, 'checkin_button');
      first.alerts.scan();
      await first.alerts.close();
      clock.advance(25 * 60 * minute); // past the 24 h window while the process was down
      return clock;
    };

    // Without the wait, the scan at start raises it before the backlog can answer.
    const eagerDir = mkdtempSync(join(tmpdir(), 'dh-alerts-eager-'));
    try {
      const eager = service(await downFor25Hours(eagerDir), { dataDir: eagerDir });
      expect(missed(eager)).toHaveLength(1);
      await eager.alerts.close();
    } finally {
      rmSync(eagerDir, { recursive: true, force: true });
    }

    let backlogRead!: () => void;
    const waiting = service(await downFor25Hours(dir), { firstScanAfter: new Promise<void>((resolve) => (backlogRead = resolve)) });
    expect(missed(waiting)).toEqual([]);
    waiting.observe(2, 'motion', { detected: true }); // from the backlog: someone was home
    expect(waiting.alerts.durableCursor()).toBe(1); // no scan (which flushes) has run yet
    backlogRead();
    await nextTurn();
    expect(waiting.alerts.durableCursor()).toBe(2); // the first scan ran once the backlog was read
    expect(missed(waiting)).toEqual([]);
    await waiting.alerts.close();
  });

  it('learns devices created while it runs from the bus', async () => {
    const clock = new FakeClock(at);
    const s = service(clock, { devices: [] });
    s.bus.publish('device', { ...device, id: 'd-new', createdAt: clock.now() });
    clock.advance(30 * minute);
    s.alerts.scan();
    expect(s.published.map((a) => a.rule)).toEqual(['d-new']);
    await s.alerts.close();
  });
});

describe('alert settings in the environment', () => {
  it('reads the escalation timeouts and the confirmation window in minutes, decimals allowed', () => {
    const config = loadConfig({ ALERT_ESCALATE_CRITICAL_MIN: '2.5', ALERT_ESCALATE_WARNING_MIN: '30', ALERT_CONFIRM_WARNINGS_MIN: '15' });
    expect(config.alerts).toMatchObject({ escalation: { criticalMs: 150_000, warningMs: 1_800_000 }, confirmWarningsMs: 900_000 });
  });

  it('defaults to 10 and 60 minutes and no confirmation', () => {
    expect(loadConfig({}).alerts).toMatchObject({ escalation: { criticalMs: 600_000, warningMs: 3_600_000 }, confirmWarningsMs: 0 });
  });

  it.each([['ALERT_ESCALATE_CRITICAL_MIN', '0'], ['ALERT_ESCALATE_WARNING_MIN', 'soon'], ['ALERT_CONFIRM_WARNINGS_MIN', '-1']])(
    'refuses %s=%s with one line naming it',
    (name, value) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^config: ${name} `));
    },
  );
});
