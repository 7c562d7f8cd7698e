import { describe, expect, it } from 'vitest';
import { isActivity, levelFields } from '../alerts/rules/activity.js';
import { scoreParameter } from '../alerts/rules/news2.js';
import { defaultVitalBands } from '../alerts/rules/vital-bands.js';
import { evaluateVitals } from '../alerts/rules/vitals.js';
import type { Observation } from '../core/schemas/observation.js';
import { MAX_BATCH_READINGS, MAX_PAYLOAD_BYTES, parseReadingsPayload } from '../core/schemas/readings.js';
import { planSequence, type PlanInput, type SimEvent } from './planner.js';
import { scenarios } from './scenarios/index.js';
import { READINGS_TOPIC } from './scenarios/types.js';
import { HOUR, MINUTE, type SimClock } from './sim-clock.js';

const START = Date.UTC(2026, 10, 27, 0, 0, 0);
const clock = (speed: number, startMinute = 7 * 60): SimClock => ({ startTime: START, speed, startMinute });
const plan = (names: string[], o: { seed?: number; speed?: number; durationMs?: number; startMinute?: number } = {}): SimEvent[] => {
  const input: PlanInput = { seed: o.seed ?? 7, clock: clock(o.speed ?? 600, o.startMinute), durationMs: o.durationMs ?? 60_000, homes: names.map((scenario) => ({ scenario })) };
  return planSequence(input);
};
const readings = (events: SimEvent[]) => events.filter((e): e is Extract<SimEvent, { action: 'publish' }> => e.action === 'publish' && e.topic === READINGS_TOPIC);

/** What the platform would make of each planned reading: its validator, with receipt time = the planned send time. */
function accepted(events: SimEvent[]) {
  return readings(events).map((e) => ({ event: e, ...parseReadingsPayload(Buffer.from(e.payload), START + e.atMs) }));
}
const observation = (type: Observation['type'], fields: Observation['fields'], ts: number): Observation =>
  ({ residentId: 'r', deviceId: 'd', dong: 'x', type, ts, receivedAt: ts, fields });

describe('the planner', () => {
  const everyScenario = Object.keys(scenarios);

  it('yields the same message sequence for the same seed, and another for another seed', () => {
    const a = plan(everyScenario, { seed: 42 });
    const b = plan(everyScenario, { seed: 42 });
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
    expect(plan(everyScenario, { seed: 43 })).not.toEqual(a);
  });

  it('plans a run window by window exactly as it plans it whole', () => {
    const input: PlanInput = { seed: 3, clock: clock(900), durationMs: 45_000, homes: everyScenario.map((scenario) => ({ scenario })) };
    const whole = planSequence(input);
    const pieces = [0, 7000, 10_000, 23_456, 30_000, 45_000].flatMap((from, i, edges) =>
      i + 1 < edges.length ? planSequence(input, { fromMs: from, toMs: edges[i + 1]! }) : [],
    );
    expect(pieces).toEqual(whole);
  });

  it('gives a home the same life whatever homes come before or after it', () => {
    const alone = plan(['normal', 'sos']).filter((e) => e.home === 1);
    const crowded = plan(['normal', 'sos', 'fever']).filter((e) => e.home === 1);
    expect(crowded).toEqual(alone);
  });

  it('keeps a week of normal homes valid for the platform, inside every default band and at NEWS2 zero', () => {
    const events = plan(Array(6).fill('normal'), { speed: 3600, durationMs: 7 * 24_000 });
    const results = accepted(events);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    let vitals = 0;
    for (const { readings: parsed } of results) {
      for (const r of parsed) {
        for (const verdict of evaluateVitals(observation(r.type, r.fields, r.ts), defaultVitalBands)) {
          vitals++;
          expect(verdict, JSON.stringify(r)).toMatchObject({ abnormal: false });
          if (verdict.vital !== 'glucose' && verdict.vital !== 'diastolic') expect(scoreParameter(verdict.vital, verdict.value)).toBe(0);
        }
      }
    }
    expect(vitals).toBeGreaterThan(6 * 7 * 5);
  });

  it('lives a day: motion while awake, quiet nights, BP twice and glucose before meals', () => {
    // Speed 3600: one simulated hour per real second, starting at midnight.
    const events = readings(plan(['normal'], { speed: 3600, durationMs: 24_000, startMinute: 0 }));
    const typeOf = (e: SimEvent & { payload: string }) => (JSON.parse(e.payload) as { type: string }).type;
    const hourOf = (e: SimEvent) => Math.floor(e.atMs / 1000);
    const motionAt = (from: number, to: number) => events.filter((e) => typeOf(e) === 'motion' && hourOf(e) >= from && hourOf(e) < to).length;
    expect(motionAt(0, 5)).toBeLessThanOrEqual(4); // a trip or two to the bathroom
    expect(motionAt(9, 21)).toBeGreaterThan(40);
    expect(events.filter((e) => typeOf(e) === 'blood_pressure')).toHaveLength(2);
    expect(events.filter((e) => typeOf(e) === 'glucose')).toHaveLength(3);
    expect(events.filter((e) => typeOf(e) === 'power').length).toBeGreaterThan(100);
  });

  it('stamps simulated time only while the platform would accept it', () => {
    const realTime = readings(plan(['normal'], { speed: 1, durationMs: 3 * HOUR }));
    expect(realTime.length).toBeGreaterThan(10);
    for (const e of realTime) expect(JSON.parse(e.payload).ts).toBe(Math.round(START + e.atMs));

    const fast = readings(plan(['normal'], { speed: 600, durationMs: 60_000 }));
    for (const e of fast) {
      const ts = (JSON.parse(e.payload) as { ts?: number }).ts;
      // Simulated time runs ahead of real time by atMs × 599; more than 4 min ahead is left to the platform's clock.
      if (e.atMs * 599 <= 4 * MINUTE) expect(ts).toBe(Math.round(START + e.atMs * 600));
      else expect(ts).toBeUndefined();
    }
  });

  it('starts each device with a retained online status and nothing else at time zero', () => {
    const events = plan(['normal']);
    const atZero = events.filter((e) => e.atMs === 0);
    expect(atZero).toHaveLength(scenarios.normal!.devices.length);
    for (const e of atZero) expect(e).toMatchObject({ action: 'publish', topic: 'dh/v1/devices/{id}/status' });
  });

  it('raises, by the default bands, exactly the vitals each vital emergency expects', () => {
    for (const name of ['hypertensive_crisis', 'hypoglycaemia', 'fever', 'hypoxia']) {
      const worst = new Map<string, string>();
      for (const { readings: parsed } of accepted(plan([name], { speed: 600, durationMs: 30_000 }))) {
        for (const r of parsed) {
          for (const v of evaluateVitals(observation(r.type, r.fields, r.ts), defaultVitalBands)) {
            if (v.abnormal && worst.get(v.vital) !== 'critical') worst.set(v.vital, v.severity);
          }
        }
      }
      const expected = scenarios[name]!.expect.alerts.map((a) => [a.rule, a.severity]);
      expect([...worst.entries()].sort(), name).toEqual(expected.sort());
    }
  });

  it('sends the sos and the fall, and a fallen resident moves no more', () => {
    const sos = accepted(plan(['sos'])).flatMap((r) => r.readings);
    expect(sos.filter((r) => r.type === 'sos')).toHaveLength(1);
    const fall = accepted(plan(['fall'], { speed: 3600, startMinute: 9 * 60 }));
    const fallAt = fall.find((r) => r.readings.some((x) => x.type === 'fall'))!.event.atMs;
    const after = fall.filter((r) => r.event.atMs > fallAt).flatMap((r) => r.readings.map((x) => x.type));
    expect(after).not.toContain('motion');
    expect(after).not.toContain('steps');
    expect(fall.filter((r) => r.event.atMs < fallAt).flatMap((r) => r.readings.map((x) => x.type))).toContain('motion');
  });

  it('goes silent: after the silence nothing the platform counts as activity, though the sensors keep reporting', () => {
    const events = plan(['silent'], { speed: 600, durationMs: 60_000, startMinute: 10 * 60 });
    const results = accepted(events);
    const previous = new Map<string, number>();
    let lastActivity = -1;
    let afterwards = 0;
    for (const { event, readings: parsed } of results) {
      for (const r of parsed) {
        const key = `${event.device}|${r.type}`;
        if (isActivity(observation(r.type, r.fields, r.ts), previous.get(key))) lastActivity = event.atMs;
        else afterwards++;
        const field = levelFields[r.type];
        if (field) previous.set(key, r.fields[field] as number);
      }
    }
    expect(lastActivity).toBeLessThan(5000);
    expect(afterwards).toBeGreaterThan(10); // plug reports and motion heartbeats go on
    expect(results.at(-1)!.event.atMs).toBeGreaterThan(50_000);
  });

  it('drops the plug of a device_offline home uncleanly, and the plug sends nothing after', () => {
    const events = plan(['device_offline']);
    const drop = events.find((e) => e.action === 'drop');
    expect(drop).toMatchObject({ device: 'smart_plug' });
    expect(events.filter((e) => e.device === 'smart_plug' && e.atMs > drop!.atMs)).toEqual([]);
  });

  it('connects the gateway late and flushes hours of old readings in batches the platform accepts', () => {
    const events = plan(['gateway_backlog'], { speed: 60 });
    const connect = events.find((e) => e.action === 'connect')!;
    expect(connect).toMatchObject({ device: 'gateway' });
    expect(events.filter((e) => e.atMs < connect.atMs)).toEqual([]);
    const flush = accepted(events).filter((r) => r.event.atMs === connect.atMs);
    expect(flush.flatMap((r) => r.errors)).toEqual([]);
    const backlog = flush.flatMap((r) => r.readings);
    expect(backlog.length).toBeGreaterThan(50);
    for (const r of flush) {
      expect(Buffer.byteLength(r.event.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      expect(r.readings.length).toBeLessThanOrEqual(MAX_BATCH_READINGS);
    }
    const sentAt = START + connect.atMs;
    const ages = backlog.map((r) => sentAt - r.ts);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ages)).toBeGreaterThan(6 * HOUR);
    expect(Math.max(...ages)).toBeLessThanOrEqual(8 * HOUR);
    // Live readings after the flush still come through the gateway, one small batch each.
    expect(accepted(events).filter((r) => r.event.atMs > connect.atMs).length).toBeGreaterThan(0);
  });

  it('gives bad_device payloads exactly the error codes its expectation lists, and then a topic it may not use', () => {
    const events = plan(['bad_device']);
    const codes = accepted(events).flatMap((r) => r.errors.map((e) => e.error));
    expect(codes.sort()).toEqual([...scenarios.bad_device!.expect.errors!].sort());
    const refused = events.filter((e) => e.action === 'publish' && e.refused);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.atMs).toBe(Math.max(...events.map((e) => e.atMs)));
  });

  it('plans long runs at high speed without trouble', () => {
    const events = plan(['normal', 'silent'], { speed: 86_400, durationMs: 30_000 }); // a month
    expect(events.length).toBeGreaterThan(30 * 200);
    expect(events.every((e, i) => i === 0 || events[i - 1]!.atMs <= e.atMs)).toBe(true);
  });
});
