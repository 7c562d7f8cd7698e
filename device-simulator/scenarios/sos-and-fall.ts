import { between, streamOf } from '../random.js';
import { HOME_KIT } from './daily-life.js';
import { inWindow, lifeEvents, momentOf, readingEvent } from './plan.js';
import type { Scenario } from './types.js';

export const sos: Scenario = {
  name: 'sos',
  summary: 'the resident presses the emergency button',
  devices: HOME_KIT,
  expect: { alerts: [{ kind: 'sos', rule: 'sos', severity: 'critical' }] },
  plan(ctx, window) {
    const events = lifeEvents(ctx, window, HOME_KIT);
    const at = momentOf(ctx, 'sos');
    if (inWindow(ctx, window, at)) events.push(readingEvent(ctx, 'button', at, { type: 'sos' }));
    return events;
  },
};

const FALL_KIT = [...HOME_KIT, 'smart_band' as const];

export const fall: Scenario = {
  name: 'fall',
  summary: 'the smart band detects a fall; the resident stays down (no motion, no steps after it)',
  devices: FALL_KIT,
  expect: { alerts: [{ kind: 'fall', rule: 'fall', severity: 'critical' }] },
  plan(ctx, window) {
    const at = momentOf(ctx, 'fall');
    const stillAfterFall = new Set(['motion', 'door', 'steps', 'checkin_button']);
    const events = lifeEvents(ctx, window, FALL_KIT, (e, atMs) => atMs < at || !stillAfterFall.has(e.reading.type));
    if (inWindow(ctx, window, at)) {
      events.push(readingEvent(ctx, 'smart_band', at, { type: 'fall', confidence: between(streamOf(ctx.seed, 'fall', 'confidence'), 0.82, 0.98, 2) }));
    }
    return events;
  },
};
