import { lifeTimeAt, MINUTE } from '../sim-clock.js';
import { streamOf } from '../random.js';
import { HOME_KIT, plugLevelAt, plugWatts } from './daily-life.js';
import { inWindow, lifeEvents, momentOf, readingEvent } from './plan.js';
import type { PlannedEvent, Scenario } from './types.js';

// The sensors stay alive after the resident stops: the plug reports every 10 min,
// the motion sensor sends a "nothing seen" heartbeat every 30 min.
const PLUG_REPORT_LIFE_MS = 10 * MINUTE;
const HEARTBEAT_LIFE_MS = 30 * MINUTE;

/** A 36-second window: a demo shows the missed check-in within a minute. */
export const SILENT_INACTIVITY_HOURS = 0.01;

export const silent: Scenario = {
  name: 'silent',
  summary: 'the resident stops all activity; the plug keeps drawing the same power and the motion sensor sees nothing → missed check-in',
  devices: HOME_KIT,
  inactivityHours: SILENT_INACTIVITY_HOURS,
  expect: { alerts: [{ kind: 'missed_checkin', rule: 'inactivity', severity: 'warning' }] },
  plan(ctx, window) {
    const silenceAt = momentOf(ctx, 'silence', 2000, 5000);
    const events = lifeEvents(ctx, window, HOME_KIT, (_e, atMs) => atMs < silenceAt);
    // Whatever was on stays on (or off): the same level, within the noise band.
    const level = plugLevelAt(ctx.seed, lifeTimeAt(ctx.clock, silenceAt));
    const afterSilence = (stepLifeMs: number, make: (atMs: number, k: number) => PlannedEvent) => {
      const stepMs = stepLifeMs / ctx.clock.speed;
      for (let k = Math.max(1, Math.ceil((window.fromMs - silenceAt) / stepMs)); silenceAt + k * stepMs < window.toMs; k++) {
        const atMs = silenceAt + k * stepMs;
        if (inWindow(ctx, window, atMs)) events.push(make(atMs, k));
        if (atMs >= ctx.durationMs) break;
      }
    };
    // A random stream per report (not one for the run) keeps window-by-window plans equal to whole ones.
    afterSilence(PLUG_REPORT_LIFE_MS, (atMs, k) =>
      readingEvent(ctx, 'smart_plug', atMs, { type: 'power', watts: plugWatts(streamOf(ctx.seed, 'silent', 'plug', k), level) }));
    afterSilence(HEARTBEAT_LIFE_MS, (atMs) => readingEvent(ctx, 'motion_sensor', atMs, { type: 'motion', detected: false }));
    return events;
  },
};
