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
import type { Device, Resident } from '../core/schemas/registry.js';
import { AlertEngine, type EscalationTimeouts } from './engine.js';
import { openAlertStore, type AlertStore } from './store.js';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
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
  observe(residentId: string, type: Observation['type'], fields?: Observation['fields'], ts?: number, extra?: Partial<Observation>): void;
  /** The resident's unresolved alerts of one kind, as the store has them. */
  alertsOf(residentId: string, kind?: AlertKind): Alert[];
  /** Stops cleanly: the engine flushes its state. */
  close(): void;
  /** Stops as a killed process would: whatever the engine had not committed is lost. */
  kill(): void;
}

interface StartOptions {
  clock?: FakeClock;
  devices?: Device[];
  confirmWarningsMs?: number;
  escalation?: EscalationTimeouts;
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
function start(residents: Resident[], options: StartOptions = {}): Harness {
  const clock = options.clock ?? new FakeClock();
  const busErrors: unknown[] = [];
  const bus = createInProcessBus((_topic, err) => busErrors.push(err));
  const published: Alert[] = [];
  bus.subscribe('alert', (alert) => published.push(alert));
  const store = openAlertStore(join(dir, 'alerts.db'));
  const devices = options.devices ?? [];
  const engine = new AlertEngine(
    {
      store, bus, clock, log: createLogger('silent'), metrics: createMetrics(),
      ...(options.confirmWarningsMs ? { confirmWarningsMs: options.confirmWarningsMs } : {}),
      ...(options.escalation ? { escalation: options.escalation } : {}),
      directory: { getDevice: (id) => devices.find((d) => d.id === id) },
    },
    residents,
    devices,
  );
  const dongOf = new Map(residents.map((r) => [r.id, r.dong]));
  let closed = false;
  const harness: Harness = {
    clock,
    store,
    engine,
    published,
    busErrors,
    observe(residentId, type, fields = {}, ts = clock.now(), extra = {}) {
      engine.handleObservations([
        { residentId, deviceId: `${residentId}-${type}`, dong: dongOf.get(residentId) ?? DONG, type, ts, receivedAt: clock.now(), fields, ...extra },
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
    kill() {
      if (closed) return;
      closed = true;
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

  it('takes every sign of life of one message: the alert recovers once and the newest starts the window again', () => {
    const h = start([resident('r-1', { inactivityHours: 1 })]);
    h.clock.advance(hour + second);
    h.engine.scan();
    const now = h.clock.now();
    h.engine.handleMessages([{
      residentId: 'r-1', deviceId: 'r-1-x', dong: DONG, receivedAt: now,
      readings: [
        { type: 'motion', ts: now - 20 * minute, fields: { detected: true } },
        { type: 'spo2', ts: now - 15 * minute, fields: { spo2: 97 } },
        { type: 'door', ts: now - 10 * minute, fields: { open: true } },
      ],
    }]);
    const alert = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(alert.recoveredAt).toBe(now);
    expect(alert.history.filter((e) => e.action === 'recovered')).toHaveLength(1);
    expect(h.engine.lastActivity('r-1')).toBe(now - 10 * minute);
    h.clock.advance(45 * minute); // an hour after the first motion, not after the door
    h.engine.scan();
    expect(only(h.alertsOf('r-1', 'missed_checkin')).recoveredAt).toBe(now);
    h.clock.advance(5 * minute + second);
    h.engine.scan();
    const again = only(h.alertsOf('r-1', 'missed_checkin'));
    expect(again.count).toBe(2);
    expect(again.recoveredAt).toBeUndefined();
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

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + minute) });
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

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + minute) });
    restarted.engine.scan();
    expect(only(restarted.alertsOf('r-1')).count).toBe(1);
    expect(restarted.published).toEqual([]);
  });

  it('stores each newer sign of life, not only the first after start (a resident is marked again after every flush)', () => {
    const residents = [resident('r-1', { inactivityHours: 1 })];
    const first = start(residents);
    for (let i = 0; i < 3; i++) {
      first.clock.advance(10 * minute);
      first.observe('r-1', 'heart_rate', { bpm: 70 });
      first.engine.flush();
    }
    const lastAt = first.clock.now();
    first.kill(); // no commit at close: only what the flushes wrote survives

    const restarted = start(residents, { clock: new FakeClock(lastAt + minute) });
    expect(restarted.engine.lastActivity('r-1')).toBe(lastAt);
  });

  it('raises a missed check-in whose deadline passed while the process was down, on the first scan', () => {
    const residents = [resident('r-1', { inactivityHours: 1 })];
    const first = start(residents);
    first.clock.advance(10 * minute);
    first.observe('r-1', 'door', { open: true });
    first.engine.scan();
    first.close();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + 2 * hour) });
    expect(restarted.engine.lastActivity('r-1')).toBe(first.clock.now());
    restarted.engine.scan();
    expect(only(restarted.alertsOf('r-1', 'missed_checkin')).count).toBe(1);
  });

  it('keeps escalating an alert opened before the restart', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'sos');
    first.close();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + 10 * minute) });
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

describe('AlertEngine: 48 h of simulated time', () => {
  it('raises exactly one missed_checkin within 1 s of the 24 h deadline, recoveredAt when motion resumes, and nothing for a resident moving every 30 min', () => {
    const h = start([resident('silent'), resident('moving')]);
    const deadline = h.clock.now() + 24 * hour;
    let resumedAt = 0;
    for (let elapsed = 0; elapsed < 48 * hour; elapsed += second) {
      if (elapsed % (30 * minute) === 0) h.observe('moving', 'motion', { detected: true });
      if (elapsed === 36 * hour) {
        h.observe('silent', 'motion', { detected: true });
        resumedAt = h.clock.now();
      }
      h.clock.advance(second);
      h.engine.scan(); // the ALERT_SCAN_MS timer, once a simulated second
    }

    const alert = only(h.alertsOf('silent', 'missed_checkin'));
    const openedAt = alert.history[0]!.at;
    expect(alert.history[0]!.action).toBe('opened');
    expect(openedAt).toBeGreaterThanOrEqual(deadline);
    expect(openedAt - deadline).toBeLessThanOrEqual(second);
    expect(alert.count).toBe(1);
    expect(alert.recoveredAt).toBe(resumedAt);
    expect(h.published.filter((a) => a.kind === 'missed_checkin' && a.history.at(-1)?.action === 'opened')).toHaveLength(1);

    expect(h.alertsOf('moving')).toEqual([]);
    expect(h.published.filter((a) => a.residentId === 'moving')).toEqual([]);
  });
});

describe('AlertEngine: alert detail for the console', () => {
  it('describes an abnormal vital as data: vital, value, unit, threshold and side', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'blood_pressure', { systolic: 185, diastolic: 95 });
    expect(only(h.alertsOf('r-1')).detail).toEqual({ type: 'vital', vital: 'systolic', value: 185, unit: 'mmHg', threshold: 180, direction: 'high' });
  });

  it('describes a missed check-in by the last activity, the silence and the window', () => {
    const h = start([resident('r-1', { inactivityHours: 1 })]);
    const createdAt = h.clock.now();
    runFor(h, hour, second);
    expect(only(h.alertsOf('r-1')).detail).toEqual({ type: 'inactivity', lastActivityAt: createdAt, silentMs: hour, windowMs: hour });
  });

  it('describes sos and fall', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'sos');
    h.observe('r-1', 'fall', { confidence: 0.8 });
    expect(only(h.alertsOf('r-1', 'sos')).detail).toEqual({ type: 'sos' });
    expect(only(h.alertsOf('r-1', 'fall')).detail).toEqual({ type: 'fall', confidence: 0.8 });
  });
});

describe('AlertEngine: NEWS2, fever, weight and hysteresis', () => {
  it('raises a partial NEWS2 warning at 5 and makes it critical at 7, notifying the nurse then', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'respiratory_rate', { per_min: 22 }); // 2
    h.observe('r-1', 'spo2', { spo2: 94 }); // 1
    expect(h.alertsOf('r-1').filter((a) => a.rule === 'news2')).toEqual([]); // two parameters: not computed
    h.clock.advance(10 * minute);
    h.observe('r-1', 'blood_pressure', { systolic: 100, diastolic: 60, pulse: 72 }); // 2 + 0
    const warning = only(h.alertsOf('r-1').filter((a) => a.rule === 'news2'));
    expect(warning).toMatchObject({ kind: 'abnormal_vital', severity: 'warning', lastValue: 5 });
    expect(warning.detail).toMatchObject({ type: 'news2', score: 5, partial: true, missing: ['temperature'] });
    expect(warning.history.map((e) => e.action)).toEqual(['opened']);

    h.clock.advance(10 * minute);
    h.observe('r-1', 'spo2', { spo2: 93, pulse: 95 }); // spo2 2, pulse 1 → 7
    const critical = only(h.alertsOf('r-1').filter((a) => a.rule === 'news2'));
    expect(critical).toMatchObject({ severity: 'critical', lastValue: 7 });
    expect(critical.history.map((e) => e.action)).toEqual(['opened', 'severity_raised', 'notified']);
  });

  it('counts the NEWS2 parameters measured before a restart toward the score after it', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'respiratory_rate', { per_min: 22 }); // 2
    first.observe('r-1', 'spo2', { spo2: 94 }); // 1
    first.close();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + 10 * minute) });
    restarted.observe('r-1', 'blood_pressure', { systolic: 100, diastolic: 60, pulse: 72 }); // 2 + 0
    expect(only(restarted.alertsOf('r-1').filter((a) => a.rule === 'news2'))).toMatchObject({ severity: 'warning', lastValue: 5 });
  });

  it('leaves NEWS2 out once the other measurements are more than an hour older', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'respiratory_rate', { per_min: 22 });
    h.observe('r-1', 'spo2', { spo2: 94 });
    h.clock.advance(61 * minute);
    h.observe('r-1', 'blood_pressure', { systolic: 100, diastolic: 60, pulse: 72 });
    expect(h.alertsOf('r-1').filter((a) => a.rule === 'news2')).toEqual([]);
  });

  it('makes a fever critical at once together with another abnormal vital, naming it', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    h.observe('r-1', 'temperature', { celsius: 38.4 });
    const fever = only(h.alertsOf('r-1').filter((a) => a.rule === 'temperature'));
    expect(fever).toMatchObject({ severity: 'critical', count: 1, lastValue: 38.4 });
    expect(fever.detail).toEqual({ type: 'vital', vital: 'temperature', value: 38.4, unit: '°C', threshold: 38.1, direction: 'high', with: ['spo2'] });
    expect(fever.history.map((e) => e.action)).toEqual(['opened', 'notified']);
  });

  it('keeps a fever alone a warning', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 97 });
    h.observe('r-1', 'temperature', { celsius: 38.9 });
    expect(only(h.alertsOf('r-1')).severity).toBe('warning');
  });

  it('raises a fever measured first to critical when another vital turns abnormal within the hour, without counting a reading', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'temperature', { celsius: 38.4 });
    h.clock.advance(20 * minute);
    h.observe('r-1', 'heart_rate', { bpm: 115 });
    const fever = only(h.alertsOf('r-1').filter((a) => a.rule === 'temperature'));
    expect(fever).toMatchObject({ severity: 'critical', count: 1 });
    expect(fever.history.map((e) => e.action)).toEqual(['opened', 'severity_raised', 'notified']);
    expect(fever.detail).toMatchObject({ with: ['heart_rate'] });
  });

  it('raises a weight_trend warning for 2 kg gained within 3 days', () => {
    const h = start([resident('r-1')]);
    for (const kg of [60, 61, 61.9]) {
      h.observe('r-1', 'weight', { kg });
      h.clock.advance(day);
    }
    expect(h.alertsOf('r-1')).toEqual([]);
    h.observe('r-1', 'weight', { kg: 62.5 }); // 60 is 3 days old: still in the window
    const alert = only(h.alertsOf('r-1'));
    expect(alert).toMatchObject({ kind: 'abnormal_vital', rule: 'weight_trend', severity: 'warning', lastValue: 2.5 });
    expect(alert.detail).toMatchObject({ type: 'weight_trend', gainKg: 2.5, fromKg: 60, toKg: 62.5, windowHours: 72, thresholdKg: 2 });
  });

  it('remembers the weighings across a restart', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'weight', { kg: 70 });
    first.engine.flush();
    first.kill();
    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + 2 * day) });
    restarted.observe('r-1', 'weight', { kg: 72.2 });
    expect(only(restarted.alertsOf('r-1')).rule).toBe('weight_trend');
  });

  it('waits for a second normal reading close to the threshold before recoveredAt', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 93 });
    h.clock.advance(minute);
    h.observe('r-1', 'spo2', { spo2: 95 }); // normal, but only 1 inside ≤ 94
    expect(only(h.alertsOf('r-1')).recoveredAt).toBeUndefined();
    h.clock.advance(minute);
    h.observe('r-1', 'spo2', { spo2: 95 });
    const alert = only(h.alertsOf('r-1'));
    expect(alert.recoveredAt).toBe(h.clock.now());
    expect(alert.history.at(-1)).toMatchObject({ action: 'recovered', by: 'system' });
  });

  it('counts normal readings in a row: an abnormal one in between starts again', () => {
    const h = start([resident('r-1')]);
    for (const spo2 of [93, 95, 93, 95]) h.observe('r-1', 'spo2', { spo2 });
    expect(only(h.alertsOf('r-1')).recoveredAt).toBeUndefined();
    h.observe('r-1', 'spo2', { spo2: 95 });
    expect(only(h.alertsOf('r-1')).recoveredAt).toBeDefined();
  });
});

describe('AlertEngine: confirmation of warnings', () => {
  const window = 15 * minute;

  it('alerts on a warning only when a repeat arrives within the window', () => {
    const h = start([resident('r-1')], { confirmWarningsMs: window });
    h.observe('r-1', 'spo2', { spo2: 93 });
    expect(h.alertsOf('r-1')).toEqual([]);
    h.clock.advance(10 * minute);
    h.observe('r-1', 'spo2', { spo2: 94 });
    const alert = only(h.alertsOf('r-1'));
    expect(alert).toMatchObject({ severity: 'warning', lastValue: 94 });
    expect(alert.reason).toContain('confirmed by a repeat');
  });

  it('does not take a repeat after the window as confirmation, but as a new first reading', () => {
    const h = start([resident('r-1')], { confirmWarningsMs: window });
    h.observe('r-1', 'spo2', { spo2: 93 });
    h.clock.advance(20 * minute);
    h.observe('r-1', 'spo2', { spo2: 93 });
    expect(h.alertsOf('r-1')).toEqual([]);
    h.clock.advance(5 * minute);
    h.observe('r-1', 'spo2', { spo2: 93 });
    expect(only(h.alertsOf('r-1')).severity).toBe('warning');
  });

  it('forgets a warning awaiting confirmation when a normal reading comes between', () => {
    const h = start([resident('r-1')], { confirmWarningsMs: window });
    for (const spo2 of [93, 97, 93]) h.observe('r-1', 'spo2', { spo2 });
    expect(h.alertsOf('r-1')).toEqual([]);
  });

  it('never waits to confirm a critical value', () => {
    const h = start([resident('r-1')], { confirmWarningsMs: window });
    h.observe('r-1', 'spo2', { spo2: 85 });
    expect(only(h.alertsOf('r-1')).severity).toBe('critical');
  });
});

describe('AlertEngine: escalation timeouts', () => {
  it('uses the configured timeouts', () => {
    const h = start([resident('r-1')], { escalation: { criticalMs: 2 * minute, warningMs: 5 * minute } });
    h.observe('r-1', 'sos');
    h.observe('r-1', 'spo2', { spo2: 93 });
    runFor(h, 2 * minute, second);
    expect(only(h.alertsOf('r-1', 'sos')).level).toBe('nurse');
    expect(only(h.alertsOf('r-1', 'abnormal_vital')).level).toBe('dong');
    runFor(h, 3 * minute, second);
    expect(only(h.alertsOf('r-1', 'abnormal_vital')).level).toBe('nurse');
  });

  it('never escalates an info alert', () => {
    const h = start([resident('r-1')]);
    h.engine.handleDeviceStatus({ deviceId: 'd-1', residentId: 'r-1', dong: DONG, online: false, at: h.clock.now() });
    runFor(h, 6 * hour);
    const alert = only(h.alertsOf('r-1', 'device_offline'));
    expect(alert.level).toBe('dong');
    expect(alert.history.map((e) => e.action)).toEqual(['opened']);
  });

  it('goes on from the new level after a handler escalated by hand', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'sos');
    h.clock.advance(5 * minute);
    h.engine.escalate(only(h.alertsOf('r-1')).id, 'kim', 'please visit');
    runFor(h, 10 * minute - second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('nurse');
    runFor(h, second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('health_center');
  });
});

function device(id: string, residentId: string, overrides: Partial<Device> = {}): Device {
  return { id, residentId, dong: DONG, kind: 'motion_sensor', offlineAfterMinutes: 60, enabled: true, createdAt: Date.UTC(2026, 10, 27), ...overrides };
}

describe('AlertEngine: device offline', () => {
  it('raises one info device_offline when a registered device is silent past its window', () => {
    const h = start([resident('r-1')], { devices: [device('d-1', 'r-1')] });
    runFor(h, 59 * minute, second);
    expect(h.alertsOf('r-1', 'device_offline')).toEqual([]);
    runFor(h, minute, second);
    const alert = only(h.alertsOf('r-1', 'device_offline'));
    expect(alert).toMatchObject({ rule: 'd-1', severity: 'info', level: 'dong', count: 1 });
    expect(alert.detail).toMatchObject({ type: 'device_offline', deviceId: 'd-1', cause: 'silence', offlineAfterMs: hour });
    runFor(h, 5 * hour);
    expect(only(h.alertsOf('r-1', 'device_offline')).count).toBe(1);
  });

  it('recovers when the device is heard again, and raises again after a new silence', () => {
    const h = start([resident('r-1')], { devices: [device('d-1', 'r-1')] });
    runFor(h, hour, second);
    h.observe('r-1', 'motion', { detected: false }, h.clock.now(), { deviceId: 'd-1' });
    expect(only(h.alertsOf('r-1', 'device_offline')).recoveredAt).toBe(h.clock.now());
    runFor(h, hour, second);
    const alert = only(h.alertsOf('r-1', 'device_offline'));
    expect(alert.recoveredAt).toBeUndefined();
    expect(alert.count).toBe(2);
  });

  it('raises device_offline when the will fires, and the silence that follows adds nothing', () => {
    const h = start([resident('r-1')], { devices: [device('d-1', 'r-1')] });
    h.clock.advance(10 * minute);
    h.engine.handleDeviceStatus({ deviceId: 'd-1', residentId: 'r-1', dong: DONG, online: false, battery: 4, at: h.clock.now() });
    const alert = only(h.alertsOf('r-1', 'device_offline'));
    expect(alert).toMatchObject({ lastValue: 4, detail: { cause: 'will', battery: 4 } });
    runFor(h, 3 * hour);
    expect(only(h.alertsOf('r-1', 'device_offline')).count).toBe(1);
    h.engine.handleDeviceStatus({ deviceId: 'd-1', residentId: 'r-1', dong: DONG, online: true, at: h.clock.now() });
    expect(only(h.alertsOf('r-1', 'device_offline')).recoveredAt).toBe(h.clock.now());
  });

  it('watches nothing of a disabled device or a disabled resident', () => {
    const h = start([resident('r-1'), resident('r-off', { enabled: false })], {
      devices: [device('d-1', 'r-1', { enabled: false }), device('d-2', 'r-off')],
    });
    runFor(h, 3 * hour);
    expect(h.store.unresolved()).toEqual([]);
  });

  it('applies a changed window, and gives a re-enabled device a fresh one', () => {
    const h = start([resident('r-1')], { devices: [device('d-1', 'r-1')] });
    h.engine.upsertDevice(device('d-1', 'r-1', { offlineAfterMinutes: 10 }));
    runFor(h, 10 * minute, second);
    expect(only(h.alertsOf('r-1', 'device_offline')).rule).toBe('d-1');

    h.engine.upsertDevice(device('d-2', 'r-1', { enabled: false, offlineAfterMinutes: 10 }));
    runFor(h, hour);
    h.engine.upsertDevice(device('d-2', 'r-1', { enabled: true, offlineAfterMinutes: 10 }));
    runFor(h, 9 * minute, second);
    expect(h.alertsOf('r-1', 'device_offline').map((a) => a.rule)).toEqual(['d-1']);
    runFor(h, minute, second);
    expect(h.alertsOf('r-1', 'device_offline').map((a) => a.rule).sort()).toEqual(['d-1', 'd-2']);
  });

  it("keeps the silence heard before a restart, but does not count the platform's own downtime as silence", () => {
    const residents = [resident('r-1')];
    const devices = [device('d-1', 'r-1')];
    const first = start(residents, { devices });
    first.clock.advance(30 * minute);
    const heardAt = first.clock.now();
    first.observe('r-1', 'motion', { detected: true }, heardAt, { deviceId: 'd-1' });
    runFor(first, 20 * minute); // 20 min of silence heard
    first.engine.flush();
    first.kill();

    const restarted = start(residents, { devices, clock: new FakeClock(first.clock.now() + 3 * hour) });
    restarted.engine.scan();
    expect(restarted.alertsOf('r-1')).toEqual([]);
    runFor(restarted, 40 * minute - second, second);
    expect(restarted.alertsOf('r-1')).toEqual([]);
    runFor(restarted, second, second);
    const alert = only(restarted.alertsOf('r-1', 'device_offline'));
    expect(alert.detail).toMatchObject({ lastSeenAt: heardAt });
    expect(alert.reason).toBe('device d-1 silent for 240 min (window 60 min)');
  });
});

describe('AlertEngine: the replay cursor', () => {
  it('is 0 before anything carried an outbox id', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 85 });
    expect(h.engine.durableCursor()).toBe(0);
  });

  it('stores the cursor in the same transaction as the alert change an observation caused', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'spo2', { spo2: 85 }, undefined, { outboxId: 7 });
    expect(h.engine.durableCursor()).toBe(7);
    h.kill();
    const reopened = openAlertStore(join(dir, 'alerts.db'));
    expect(reopened.cursor()).toBe(7);
    expect(reopened.unresolved()).toHaveLength(1);
    reopened.close();
  });

  it('makes the cursor of observations that changed no alert durable at the next flush, not before', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'motion', { detected: true }, undefined, { outboxId: 3 });
    expect(h.engine.durableCursor()).toBe(0);
    h.engine.flush();
    expect(h.engine.durableCursor()).toBe(3);
  });

  it('skips observations at or below the cursor after a restart: a replay does not count twice', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    first.observe('r-1', 'spo2', { spo2: 93 }, undefined, { outboxId: 1 });
    first.observe('r-1', 'spo2', { spo2: 93 }, undefined, { outboxId: 2 });
    first.kill();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + minute) });
    for (const outboxId of [1, 2, 3]) restarted.observe('r-1', 'spo2', { spo2: 93 }, undefined, { outboxId });
    expect(only(restarted.alertsOf('r-1')).count).toBe(3);
    expect(restarted.engine.durableCursor()).toBe(3);
  });

  it('loses nothing to a kill between commits: what the cursor does not cover is replayed', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    const t0 = first.clock.now();
    first.clock.advance(10 * minute);
    first.observe('r-1', 'motion', { detected: true }, undefined, { outboxId: 1 }); // activity, not yet flushed
    first.observe('r-1', 'spo2', { spo2: 93 }, undefined, { outboxId: 2 }); // an alert: commits #1's activity too
    first.clock.advance(10 * minute);
    first.observe('r-1', 'motion', { detected: true }, undefined, { outboxId: 3 }); // lost with the process
    first.kill();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + minute) });
    expect(restarted.engine.durableCursor()).toBe(2);
    expect(restarted.engine.lastActivity('r-1')).toBe(t0 + 10 * minute);
    // Ingest replays every row above the cursor it was given.
    restarted.engine.handleObservations([1, 2, 3].map((outboxId) => ({
      residentId: 'r-1', deviceId: 'r-1-x', dong: DONG, type: outboxId === 2 ? 'spo2' : 'motion',
      ts: t0 + (outboxId === 3 ? 20 : 10) * minute, receivedAt: t0, fields: outboxId === 2 ? { spo2: 93 } : { detected: true }, outboxId,
    }) as Observation));
    expect(restarted.engine.lastActivity('r-1')).toBe(t0 + 20 * minute);
    expect(only(restarted.alertsOf('r-1')).count).toBe(1);
  });

  it('evaluates the rest of a message when one reading throws, and moves the cursor past both', () => {
    const h = start([resident('r-1')]);
    const now = h.clock.now();
    const broken = new Proxy({}, { get: () => { throw new Error('broken reading'); } }) as Record<string, number>;
    h.engine.handleMessages([{
      residentId: 'r-1', deviceId: 'r-1-x', dong: DONG, receivedAt: now, firstOutboxId: 1,
      readings: [
        { type: 'spo2', ts: now, fields: broken },
        { type: 'sos', ts: now, fields: {} },
      ],
    }]);
    expect(only(h.alertsOf('r-1', 'sos')).severity).toBe('critical');
    h.engine.flush();
    expect(h.engine.durableCursor()).toBe(2);
  });

  it('takes a message replayed across the cursor from the middle: only its readings above the cursor count', () => {
    const residents = [resident('r-1')];
    const first = start(residents);
    const t0 = first.clock.now();
    first.clock.advance(10 * minute);
    first.observe('r-1', 'motion', { detected: true }, undefined, { outboxId: 1 });
    first.observe('r-1', 'spo2', { spo2: 93 }, undefined, { outboxId: 2 }); // an alert: commits the cursor at 2
    first.kill();

    const restarted = start(residents, { clock: new FakeClock(first.clock.now() + minute) });
    expect(restarted.engine.durableCursor()).toBe(2);
    // The three readings were one message (outbox ids 1–3); the third was lost with the process.
    restarted.engine.handleMessages([{
      residentId: 'r-1', deviceId: 'r-1-x', dong: DONG, receivedAt: t0 + 10.5 * minute, firstOutboxId: 1,
      readings: [
        { type: 'motion', ts: t0 + 10 * minute, fields: { detected: true } },
        { type: 'spo2', ts: t0 + 10 * minute, fields: { spo2: 93 } },
        { type: 'motion', ts: t0 + 10.5 * minute, fields: { detected: true } },
      ],
    }]);
    expect(restarted.engine.lastActivity('r-1')).toBe(t0 + 10.5 * minute);
    expect(only(restarted.alertsOf('r-1')).count).toBe(1); // the spo2 reading was not judged twice
    restarted.engine.flush();
    expect(restarted.engine.durableCursor()).toBe(3);
  });
});

describe('AlertEngine: restart keeps everything', () => {
  it('keeps alerts, their history, deadlines and seq across a kill, and fires the deadlines that passed while down', () => {
    const residents = [resident('quiet', { inactivityHours: 1 }), resident('sick')];
    const first = start(residents);
    const t0 = first.clock.now();
    first.observe('sick', 'spo2', { spo2: 85 }); // critical: escalation due at +10 min
    const sick = only(first.alertsOf('sick'));
    first.engine.addNote(sick.id, 'kim.staff', 'called, no answer');
    first.clock.advance(5 * minute);
    first.observe('quiet', 'door', { open: true }); // missed check-in due at +65 min
    first.engine.scan();
    first.engine.flush(); // as the scan timer does every ALERT_SCAN_MS
    const seq = first.store.lastSeq();
    const before = first.store.get(sick.id)!;
    first.kill();

    const restarted = start(residents, { clock: new FakeClock(t0 + 2 * hour) });
    expect(restarted.store.get(sick.id)).toEqual(before);
    expect(restarted.store.lastSeq()).toBe(seq);
    restarted.engine.scan();

    const escalated = only(restarted.alertsOf('sick'));
    expect(escalated.level).toBe('nurse');
    expect(escalated.history.map((e) => e.action)).toEqual(['opened', 'notified', 'note', 'escalated']);
    const missed = only(restarted.alertsOf('quiet', 'missed_checkin'));
    expect(missed.detail).toMatchObject({ lastActivityAt: t0 + 5 * minute });
    expect(restarted.published.map((a) => a.seq)).toEqual([seq + 1, seq + 2]);
  });
});

describe('AlertEngine: disabled residents and escalation', () => {
  it('stops escalating the alerts of a disabled resident, and gives them a full timeout again when re-enabled', () => {
    const h = start([resident('r-1')]);
    h.observe('r-1', 'sos');
    h.clock.advance(5 * minute);
    h.engine.upsertResident(resident('r-1', { enabled: false }));
    runFor(h, hour);
    expect(only(h.alertsOf('r-1')).level).toBe('dong');

    h.engine.upsertResident(resident('r-1', { enabled: true }));
    runFor(h, 10 * minute - second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('dong');
    runFor(h, second, second);
    expect(only(h.alertsOf('r-1')).level).toBe('nurse');
  });
});

/** The real store, whose next commit fails when `failNext` is set (a full disk for one transaction). */
function failingOnce(store: AlertStore): AlertStore & { failNext: boolean } {
  const flaky = {
    ...store,
    failNext: false,
    commit(unit: Parameters<AlertStore['commit']>[0]) {
      if (flaky.failNext) {
        flaky.failNext = false;
        throw new Error('disk full');
      }
      return store.commit(unit);
    },
  };
  return flaky;
}

describe('AlertEngine: a failed commit', () => {
  it('publishes nothing, forgets the changes of the failed unit, and carries on', () => {
    const store = openAlertStore(join(dir, 'alerts.db'));
    const flaky = failingOnce(store);
    const bus = createInProcessBus(() => {});
    const published: Alert[] = [];
    bus.subscribe('alert', (a) => published.push(a));
    const clock = new FakeClock();
    const engine = new AlertEngine({ store: flaky, bus, clock, log: createLogger('silent'), metrics: createMetrics() }, [resident('r-1')]);
    const sos: Observation = { residentId: 'r-1', deviceId: 'd-1', dong: DONG, type: 'sos', ts: clock.now(), receivedAt: clock.now(), fields: {} };

    flaky.failNext = true;
    expect(() => engine.handleObservations([sos])).toThrow('disk full');
    expect(published).toEqual([]);
    expect(store.unresolved()).toEqual([]);

    engine.handleObservations([sos]);
    expect(only(store.unresolved())).toMatchObject({ kind: 'sos', count: 1 });
    expect(published).toHaveLength(1);
    store.close();
  });

  it('keeps the cursor below observations whose alert changes failed to commit, so a restart replays them', () => {
    const store = openAlertStore(join(dir, 'alerts.db'));
    const flaky = failingOnce(store);
    const clock = new FakeClock();
    const engine = new AlertEngine({ store: flaky, bus: createInProcessBus(() => {}), clock, log: createLogger('silent'), metrics: createMetrics() }, [resident('r-1')]);
    const reading = (outboxId: number, type: Observation['type']): Observation =>
      ({ residentId: 'r-1', deviceId: 'd-1', dong: DONG, type, ts: clock.now(), receivedAt: clock.now(), fields: type === 'spo2' ? { spo2: 85 } : {}, outboxId });
    engine.handleObservations([reading(1, 'checkin_button')]);
    engine.flush();
    flaky.failNext = true;
    expect(() => engine.handleObservations([reading(2, 'spo2')])).toThrow('disk full');
    engine.handleObservations([reading(3, 'sos')]);
    engine.flush();
    expect(store.cursor()).toBe(1);
    expect(only(store.unresolved()).kind).toBe('sos');
    store.close();
  });
});

describe('AlertEngine: group commit', () => {
  function grouped() {
    const store = openAlertStore(join(dir, 'alerts.db'));
    let commits = 0;
    const counting: AlertStore = { ...store, commit: (unit) => (commits++, store.commit(unit)) };
    const bus = createInProcessBus(() => {});
    const published: Alert[] = [];
    bus.subscribe('alert', (a) => published.push(a));
    const clock = new FakeClock();
    const engine = new AlertEngine(
      { store: counting, bus, clock, log: createLogger('silent'), metrics: createMetrics(), groupCommit: true },
      [resident('r-1'), resident('r-2')],
    );
    const observe = (residentId: string, spo2: number) =>
      engine.handleObservations([{ residentId, deviceId: `${residentId}-ox`, dong: DONG, type: 'spo2', ts: clock.now(), receivedAt: clock.now(), fields: { spo2 } }]);
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    return { store, engine, published, observe, nextTurn, commits: () => commits };
  }

  it('commits the alert changes of one event-loop turn in one transaction, and publishes them only after it', async () => {
    const g = grouped();
    g.observe('r-1', 93);
    g.observe('r-2', 85);
    expect(g.published).toEqual([]);
    expect(g.store.unresolved()).toEqual([]);
    await g.nextTurn();
    expect(g.commits()).toBe(1);
    expect(g.published.map((a) => a.residentId)).toEqual(['r-1', 'r-2']);
    expect(g.store.unresolved()).toHaveLength(2);
    g.store.close();
  });

  it('lets a staff action act on changes still waiting for their commit', async () => {
    const g = grouped();
    g.observe('r-1', 93);
    await g.nextTurn();
    const id = only(g.store.unresolved()).id;
    g.observe('r-1', 93); // count 2, not yet committed
    const acknowledged = g.engine.acknowledge(id, 'kim');
    expect(acknowledged).toMatchObject({ status: 'acknowledged', count: 2 });
    await g.nextTurn();
    expect(g.store.get(id)).toMatchObject({ status: 'acknowledged', count: 2 });
    g.store.close();
  });
});
