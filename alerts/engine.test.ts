import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '../core/bus.js';
import { FakeClock } from '../core/clock.js';
import { PlatformError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../core/metrics.js';
import type { Alert, AlertKind } from '../core/schemas/alert.js';
import type { Observation } from '../core/schemas/observation.js';
import type { Resident } from '../core/schemas/registry.js';
import { AlertEngine } from './engine.js';
import { openAlertStore, type AlertStore } from './store.js';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const DONG = '1111051500';

function resident(id: string, overrides: Partial<Resident> = {}, at = Date.UTC(2026, 10, 27)): Resident {
  return { id, displayName: `어르신 ${id}`, dong: DONG, inactivityHours: 24, enabled: true, createdAt: at, updatedAt: at, ...overrides };
}

interface Harness {
  clock: FakeClock;
  store: AlertStore;
  engine: AlertEngine;
  /** Every alert the engine published on the bus, in order. */
  published: Alert[];
  /** Every error a bus subscriber threw. */
  busErrors: unknown[];
  observe(residentId: string, type: Observation['type'], fields?: Observation['fields'], ts?: number): void;
  /** The resident's unresolved alerts of one kind, as the store has them. */
  alertsOf(residentId: string, kind?: AlertKind): Alert[];
  close(): void;
}

let dir: string;
const open: Harness[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dh-alert-engine-'));
});

afterEach(() => {
  for (const h of open.splice(0)) h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh engine over the alert store in this test's temp dir (the same file each time, as after a restart). */
function start(residents: Resident[], clock = new FakeClock()): Harness {
  const busErrors: unknown[] = [];
  const bus = createInProcessBus((_topic, err) => busErrors.push(err));
  const published: Alert[] = [];
  bus.subscribe('alert', (alert) => published.push(alert));
  const store = openAlertStore(join(dir, 'alerts.db'));
  const engine = new AlertEngine({ store, bus, clock, log: createLogger('silent'), metrics: createMetrics() }, residents);
  const dongOf = new Map(residents.map((r) => [r.id, r.dong]));
  let closed = false;
  const harness: Harness = {
    clock,
    store,
    engine,
    published,
    busErrors,
    observe(residentId, type, fields = {}, ts = clock.now()) {
      engine.handleObservations([
        { residentId, deviceId: `${residentId}-${type}`, dong: dongOf.get(residentId) ?? DONG, type, ts, receivedAt: clock.now(), fields },
      ]);
    },
    alertsOf(residentId, kind) {
      return store.unresolved().filter((a) => a.residentId === residentId && (kind === undefined || a.kind === kind));
    },
    close() {
      if (closed) return;
      closed = true;
      engine.close();
      store.close();
    },
  };
  open.push(harness);
  return harness;
}

/** Moves the clock forward in steps, scanning after each, as the ALERT_SCAN_MS timer would. */
function runFor(h: Harness, total: number, step = minute): void {
  for (let elapsed = 0; elapsed < total; elapsed += step) {
    h.clock.advance(Math.min(step, total - elapsed));
    h.engine.scan();
  }
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

function platformErrorOf(action: () => unknown): PlatformError {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformError);
    return err as PlatformError;
  }
  throw new Error('expected a PlatformError, but the call succeeded');
}

describe('AlertEngine: missed check-in', () => {
  it('raises exactly one missed_checkin once the inactivity window has passed, and not before', () => {
    const h = start([resident('r-1', { inactivityHours: 0.001 })]); // 3.6 s
    h.clock.advance(3_599);
    h.engine.scan();
    expect(h.alertsOf('r-1')).toEqual([]);

    h.clock.advance(1);
    h.engine.scan();
    const alert = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(alert).toMatchObject({ kind: 'missed_checkin', rule: 'inactivity', severity: 'warning', status: 'open', level: 'dong', count: 1 });
    expect(alert.history[0]).toMatchObject({ action: 'opened', by: 'system' });

    runFor(h, 10 * second, 500);
    const still = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(still.count).toBe(1);
    expect(h.published.filter((a) => a.kind === 'missed_checkin' && a.history.length === 1)).toHaveLength(1);
  });

  it('sets recoveredAt when the resident moves again, and leaves the alert open for a person to resolve', () => {
    const h = start([resident('r-1', { inactivityHours: 0.001 })]);
    h.clock.advance(4 * second);
    h.engine.scan();
    h.clock.advance(30 * second);
    const movedAt = h.clock.now();
    h.observe('r-1', 'motion', { detected: true });

    const alert = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(alert.recoveredAt).toBe(movedAt);
    expect(alert.status).toBe('open');
    expect(alert.history.at(-1)).toMatchObject({ action: 'recovered', at: movedAt, by: 'system' });
    expect(h.engine.lastActivity('r-1')).toBe(movedAt);
  });

  it('raises nothing for a resident moving every 30 min over 48 h, with a 1 h window', () => {
    const h = start([resident('r-1', { inactivityHours: 1 })]);
    for (let elapsed = 0; elapsed < 48 * hour; elapsed += minute) {
      if (elapsed % (30 * minute) === 0) h.observe('r-1', 'motion', { detected: true });
      h.clock.advance(minute);
      h.engine.scan();
    }
    expect(h.store.unresolved()).toEqual([]);
    expect(h.published).toEqual([]);
  });

  it('still raises a missed_checkin for a resident whose sensor reports only "no motion"', () => {
    const h = start([resident('r-1', { inactivityHours: 1 })]);
    for (let elapsed = 0; elapsed < 2 * hour; elapsed += minute) {
      if (elapsed % (10 * minute) === 0) h.observe('r-1', 'motion', { detected: false });
      h.clock.advance(minute);
      h.engine.scan();
    }
    expect(only(h.alertsOf('r-1', 'missed_checkin')).count).toBe(1);
  });

  it('counts a kettle switching on as activity, but not a plug drifting around its standby draw', () => {
    const h = start([resident('r-1', { inactivityHours: 24 })]);
    const createdAt = h.clock.now();
    h.clock.advance(minute);
    h.observe('r-1', 'power', { watts: 2 });
    h.clock.advance(minute);
    h.observe('r-1', 'power', { watts: 3.5 });
    expect(h.engine.lastActivity('r-1')).toBe(createdAt);

    h.clock.advance(minute);
    h.observe('r-1', 'power', { watts: 1800 });
    expect(h.engine.lastActivity('r-1')).toBe(h.clock.now());
  });

  it('does not let a late-arriving old observation move the last activity backwards', () => {
    const h = start([resident('r-1')]);
    h.clock.advance(hour);
    h.observe('r-1', 'door', { open: true });
    const last = h.engine.lastActivity('r-1');
    h.observe('r-1', 'motion', { detected: true }, h.clock.now() - 30 * minute);
    expect(h.engine.lastActivity('r-1')).toBe(last);
  });

  it('marks the alert as not recovered again when the resident falls silent again before anyone resolved it', () => {
    const h = start([resident('r-1', { inactivityHours: 0.001 })]);
    h.clock.advance(4 * second);
    h.engine.scan();
    h.observe('r-1', 'motion', { detected: true });
    expect(only(h.alertsOf('r-1', 'missed_checkin')).recoveredAt).toBeDefined();

    h.clock.advance(4 * second);
    h.engine.scan();
    const alert = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(alert.count).toBe(2);
    // Silent again: the console must not still show the alert as recovered.
    expect(alert.recoveredAt).toBeUndefined();
  });
});

describe('AlertEngine: abnormal vitals', () => {
  it('raises a critical abnormal_vital for SpO2 85 and notifies the visiting nurse at once', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 85 });
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert).toMatchObject({ rule: 'spo2', severity: 'critical', status: 'open', level: 'dong', lastValue: 85, count: 1, dong: DONG });
    expect(alert.history.map((e) => e.action)).toEqual(['opened', 'notified']);
    expect(alert.history[1]).toMatchObject({ action: 'notified', note: 'nurse', by: 'system' });
  });

  it('does not notify the nurse of a warning', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert.severity).toBe('warning');
    expect(alert.history.map((e) => e.action)).toEqual(['opened']);
  });

  it('keeps one alert with count 3 for three identical warning readings', () => {
    const h = start([resident('r-1')]);
    for (let i = 0; i < 3; i++) {
      h.observe('r-1', 'spo2', { spo2: 93 });
      h.clock.advance(5 * minute);
    }
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert).toMatchObject({ severity: 'warning', count: 3, lastValue: 93 });
    expect(alert.lastSeenAt).toBe(h.clock.now() - 5 * minute);
    expect(alert.history.map((e) => e.action)).toEqual(['opened']); // repeats do not notify again
  });

  it('raises the severity of the open alert when a worse reading arrives', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 94 });
    h.clock.advance(minute);
    h.observe('r-1', 'spo2', { spo2: 88 });
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert).toMatchObject({ severity: 'critical', count: 2, lastValue: 88 });
    // severity_raised, then (now critical) the nurse's notification
    expect(alert.history.slice(-2).map((e) => [e.action, e.by])).toEqual([['severity_raised', 'system'], ['notified', 'system']]);
  });

  it('notifies the nurse when a warning vital turns critical, as for one that opened critical', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 94 });
    h.clock.advance(minute);
    h.observe('r-1', 'spo2', { spo2: 88 });
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert.history.some((e) => e.action === 'notified' && e.note === 'nurse')).toBe(true);
  });

  it('never lowers the severity when a milder abnormal reading follows', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 88 });
    h.observe('r-1', 'spo2', { spo2: 94 });
    expect(only(h.alertsOf('r-1', 'abnormal_vital'))).toMatchObject({ severity: 'critical', count: 2, lastValue: 94 });
  });

  it('keeps one alert per vital: a high blood pressure opens systolic and diastolic alerts', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'blood_pressure', { systolic: 185, diastolic: 105, pulse: 70 });
    const byRule = Object.fromEntries(h.alertsOf('r-1', 'abnormal_vital').map((a) => [a.rule, a.severity]));
    expect(byRule).toEqual({ systolic: 'critical', diastolic: 'warning' });
  });

  it('sets recoveredAt when a normal reading follows, leaving the alert unresolved', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    h.clock.advance(10 * minute);
    h.observe('r-1', 'spo2', { spo2: 97 });
    const alert = only(h.alertsOf('r-1', 'abnormal_vital'));
    expect(alert.recoveredAt).toBe(h.clock.now());
    expect(alert.status).toBe('open');
  });

  it("judges readings against the resident's own bands", () => {
    const h = start([resident('copd', { vitalBands: { spo2: { lowCritical: 85, lowWarning: 87 } } }), resident('r-2')]);
    h.observe('copd', 'spo2', { spo2: 89 });
    h.observe('r-2', 'spo2', { spo2: 89 });
    expect(h.alertsOf('copd')).toEqual([]);
    expect(only(h.alertsOf('r-2')).severity).toBe('critical');
  });

  it('uses changed bands once the registry sends the resident again', () => {
    const h = start([resident('r-1')]);
    h.engine.upsertResident(resident('r-1', { vitalBands: { spo2: { lowCritical: 85, lowWarning: 87 } } }));
    h.observe('r-1', 'spo2', { spo2: 89 });
    expect(h.alertsOf('r-1')).toEqual([]);
  });

  it.each([
    ['sos', {}, null],
    ['fall', { confidence: 0.9 }, 0.9],
  ] as const)('raises a critical %s alert that reaches the nurse at once', (type, fields, lastValue) => {
    const h = start([resident('r-1')]);
    h.observe('r-1', type, fields);
    const alert = only(h.alertsOf('r-1', type));
    expect(alert).toMatchObject({ kind: type, severity: 'critical', level: 'dong', lastValue });
    expect(alert.history).toContainEqual(expect.objectContaining({ action: 'notified', note: 'nurse' }));
  });
});

describe('AlertEngine: escalation', () => {
  it('moves an unacknowledged critical alert to the nurse after 10 min and to the health centre after 20 min', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 85 });
    runFor(h, 10 * minute - second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('dong');

    runFor(h, second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('nurse');

    runFor(h, 10 * minute);
    const alert = only(h.alertsOf('r-1'));
    expect(alert.level).toBe('health_center');
    const escalations = alert.history.filter((e) => e.action === 'escalated');
    expect(escalations).toHaveLength(2);
    expect(escalations.every((e) => e.by === 'system')).toBe(true);
    expect(escalations[0]?.note).toContain('nurse');
    expect(escalations[1]?.note).toContain('health_center');

    runFor(h, 2 * hour);
    expect(only(h.alertsOf('r-1')).history.filter((e) => e.action === 'escalated')).toHaveLength(2); // the top of the ladder
  });

  it('moves an unacknowledged warning up after 60 min, not before', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'temperature', { celsius: 38 });
    runFor(h, 59 * minute);
    expect(only(h.alertsOf('r-1')).level).toBe('dong');
    runFor(h, minute);
    expect(only(h.alertsOf('r-1')).level).toBe('nurse');
  });

  it('keeps an acknowledged alert at its level', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 85 });
    h.clock.advance(5 * minute);
    const id = only(h.alertsOf('r-1')).id;
    const acknowledged = h.engine.acknowledge(id, 'kim.staff', 'calling now');
    expect(acknowledged).toMatchObject({ status: 'acknowledged', acknowledgedAt: h.clock.now() });
    expect(acknowledged.history.at(-1)).toMatchObject({ action: 'acknowledged', by: 'kim.staff', note: 'calling now' });

    runFor(h, 3 * hour);
    const alert = h.store.get(id)!;
    expect(alert.level).toBe('dong');
    expect(alert.history.some((e) => e.action === 'escalated')).toBe(false);
  });

  it('moves an alert up one level when a handler escalates it, with their note', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    const id = only(h.alertsOf('r-1')).id;
    const escalated = h.engine.escalate(id, 'kim.staff', 'no answer, please visit');
    expect(escalated.level).toBe('nurse');
    expect(escalated.history.at(-1)).toMatchObject({ action: 'escalated', by: 'kim.staff', note: 'no answer, please visit' });
  });

  it('resolves an alert with its outcome, and a new reading afterwards opens a new alert', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    const first = only(h.alertsOf('r-1'));
    const resolved = h.engine.resolve(first.id, 'lee.nurse', 'visited', 'fine after rest');
    expect(resolved).toMatchObject({ status: 'resolved', outcome: 'visited', resolvedAt: h.clock.now() });
    expect(resolved.history.at(-1)).toMatchObject({ action: 'resolved', by: 'lee.nurse' });
    expect(resolved.history.at(-1)?.note).toContain('fine after rest');
    expect(h.alertsOf('r-1')).toEqual([]);

    h.observe('r-1', 'spo2', { spo2: 93 });
    const reopened = only(h.alertsOf('r-1'));
    expect(reopened.id).not.toBe(first.id);
    expect(reopened.count).toBe(1);
  });

  it('adds a note to the history without changing the status', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    const id = only(h.alertsOf('r-1')).id;
    const noted = h.engine.addNote(id, 'kim.staff', 'called, no answer');
    expect(noted.status).toBe('open');
    expect(noted.history.at(-1)).toMatchObject({ action: 'note', by: 'kim.staff', note: 'called, no answer' });
  });
});

describe('AlertEngine: errors of staff actions', () => {
  function withAlert() {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    return { h, id: only(h.alertsOf('r-1')).id };
  }

  it.each([
    ['acknowledge', (e: AlertEngine) => e.acknowledge('a-nope', 'kim')],
    ['escalate', (e: AlertEngine) => e.escalate('a-nope', 'kim', 'up')],
    ['resolve', (e: AlertEngine) => e.resolve('a-nope', 'kim', 'phoned')],
    ['addNote', (e: AlertEngine) => e.addNote('a-nope', 'kim', 'hello')],
  ])('refuses to %s an alert that does not exist with not_found', (_action, act) => {
    const { h } = withAlert();
    const error = platformErrorOf(() => act(h.engine));
    expect(error.code).toBe('not_found');
    expect(error.httpStatus).toBe(404);
  });

  it('refuses to acknowledge an alert twice with conflict', () => {
    const { h, id } = withAlert();
    h.engine.acknowledge(id, 'kim');
    const error = platformErrorOf(() => h.engine.acknowledge(id, 'park'));
    expect(error.code).toBe('conflict');
    expect(error.httpStatus).toBe(409);
  });

  it.each([
    ['acknowledge', (e: AlertEngine, id: string) => e.acknowledge(id, 'kim')],
    ['escalate', (e: AlertEngine, id: string) => e.escalate(id, 'kim', 'up')],
    ['resolve', (e: AlertEngine, id: string) => e.resolve(id, 'kim', 'phoned')],
  ])('refuses to %s a resolved alert with conflict', (_action, act) => {
    const { h, id } = withAlert();
    h.engine.resolve(id, 'kim', 'false_alarm');
    const seq = h.store.lastSeq();
    expect(platformErrorOf(() => act(h.engine, id)).code).toBe('conflict');
    expect(h.store.lastSeq()).toBe(seq); // nothing was stored
  });

  it('refuses to escalate past the public health centre with conflict', () => {
    const { h, id } = withAlert();
    h.engine.escalate(id, 'kim', 'to nurse');
    h.engine.escalate(id, 'lee', 'to health centre');
    expect(platformErrorOf(() => h.engine.escalate(id, 'lee', 'further')).code).toBe('conflict');
    expect(h.store.get(id)?.level).toBe('health_center');
  });
});

describe('AlertEngine: seq and the bus', () => {
  it('gives every change a strictly larger seq and publishes each stored change on the bus', () => {
    const h = start([resident('r-1'), resident('r-2', { inactivityHours: 0.001 })]);
    const returned: Alert[] = [];
    h.observe('r-1', 'spo2', { spo2: 93 }); // opened
    h.observe('r-1', 'spo2', { spo2: 93 }); // repeated
    h.observe('r-1', 'spo2', { spo2: 88 }); // severity raised
    h.clock.advance(4 * second);
    h.engine.scan(); // r-2 missed check-in
    const id = h.alertsOf('r-1')[0]!.id;
    returned.push(h.engine.addNote(id, 'kim', 'calling'));
    returned.push(h.engine.acknowledge(id, 'kim'));
    returned.push(h.engine.escalate(id, 'kim', 'please visit'));
    returned.push(h.engine.resolve(id, 'lee', 'visited'));

    const seqs = h.published.map((a) => a.seq);
    expect(seqs).toHaveLength(8);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(seqs.at(-1)).toBe(h.store.lastSeq());
    expect(h.published.slice(-4)).toEqual(returned);
    expect(h.store.get(id)?.seq).toBe(returned.at(-1)?.seq);
    expect(h.busErrors).toEqual([]);
  });

  it('lets a client ask for what changed after a seq it has seen', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    const seen = h.store.lastSeq();
    h.observe('r-1', 'heart_rate', { bpm: 135 });
    const missed = h.store.changedSince(seen, null, 100);
    expect(missed.map((a) => a.rule)).toEqual(['heart_rate']);
  });
});

describe('AlertEngine: restart', () => {
  it('finds its open alert again after a restart: a repeat reading counts on it and seq continues', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'spo2', { spo2: 93 });
    const before = only(first.alertsOf('r-1'));
    const lastSeq = first.store.lastSeq();
    first.close();

    const restarted = start(residents, new FakeClock(first.clock.now() + minute));
    restarted.observe('r-1', 'spo2', { spo2: 93 });
    const after = only(restarted.alertsOf('r-1'));
    expect(after.id).toBe(before.id);
    expect(after.count).toBe(2);
    expect(after.seq).toBeGreaterThan(lastSeq);
    expect(restarted.published.map((a) => a.seq)).toEqual([lastSeq + 1]);
  });

  it('does not raise a second missed check-in for the same silence after a restart', () => {
    const residents = [resident('r-1', { inactivityHours: 0.001 })];
    const first = start(residents);
    first.clock.advance(4 * second);
    first.engine.scan();
    expect(only(first.alertsOf('r-1')).count).toBe(1);
    first.close();

    const restarted = start(residents, new FakeClock(first.clock.now() + minute));
    restarted.engine.scan();
    expect(only(restarted.alertsOf('r-1')).count).toBe(1);
    expect(restarted.published).toEqual([]);
  });

  it('raises a missed check-in whose deadline passed while the process was down, on the first scan', () => {
    const residents = [resident('r-1', { inactivityHours: 1 })];
    const first = start(residents);
    first.clock.advance(10 * minute);
    first.observe('r-1', 'door', { open: true });
    first.engine.scan();
    first.close();

    const restarted = start(residents, new FakeClock(first.clock.now() + 2 * hour));
    expect(restarted.engine.lastActivity('r-1')).toBe(first.clock.now());
    restarted.engine.scan();
    expect(only(restarted.alertsOf('r-1', 'missed_checkin')).count).toBe(1);
  });

  it('keeps escalating an alert opened before the restart', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'sos');
    first.close();

    const restarted = start(residents, new FakeClock(first.clock.now() + 10 * minute));
    restarted.engine.scan();
    expect(only(restarted.alertsOf('r-1', 'sos')).level).toBe('nurse');
  });
});

describe('AlertEngine: disabled residents', () => {
  it('raises nothing for a disabled resident: no missed check-in, no vitals, no SOS', () => {
    const h = start([resident('r-off', { enabled: false, inactivityHours: 0.001 })]);
    h.observe('r-off', 'spo2', { spo2: 80 });
    h.observe('r-off', 'sos');
    runFor(h, hour);
    expect(h.store.unresolved()).toEqual([]);
    expect(h.published).toEqual([]);
  });

  it('starts a fresh window when a resident is enabled again', () => {
    const h = start([resident('r-1', { enabled: false, inactivityHours: 1 })]);
    h.clock.advance(5 * hour);
    h.engine.upsertResident(resident('r-1', { enabled: true, inactivityHours: 1 }));
    runFor(h, 59 * minute);
    expect(h.alertsOf('r-1')).toEqual([]);
    runFor(h, minute);
    expect(only(h.alertsOf('r-1', 'missed_checkin')).count).toBe(1);
  });

  it('ignores observations of residents it does not know', () => {
    const h = start([resident('r-1')]);
    h.observe('stranger', 'sos');
    expect(h.store.unresolved()).toEqual([]);
  });
});
