import type { DeviceKind } from '../../core/schemas/registry.js';
import { between, streamOf } from '../random.js';
import { atMsOfLife, lifeTimeAt, tsFor } from '../sim-clock.js';
import { lifeBetween, type LifeEvent } from './daily-life.js';
import { READINGS_TOPIC, STATUS_TOPIC, type PlanContext, type PlannedEvent, type PlanWindow, type Reading } from './types.js';

/** Building blocks the scenarios plan with. */

export const inWindow = (ctx: PlanContext, window: PlanWindow, atMs: number): boolean =>
  atMs >= 0 && atMs >= window.fromMs && atMs < window.toMs && atMs < ctx.durationMs;

/** A reading published at `atMs`, stamped with simulated time when the platform accepts that. */
export function readingEvent(ctx: PlanContext, device: DeviceKind, atMs: number, reading: Reading): PlannedEvent {
  const ts = reading.ts ?? tsFor(ctx.clock, atMs);
  return { atMs, device, action: 'publish', topic: READINGS_TOPIC, payload: JSON.stringify(ts === undefined ? reading : { ...reading, ts }) };
}

const MAINS_POWERED: ReadonlySet<DeviceKind> = new Set(['smart_plug', 'gateway']);

/** The retained status a device publishes when it connects. */
export function statusEvent(ctx: PlanContext, device: DeviceKind, atMs: number): PlannedEvent {
  const r = streamOf(ctx.seed, 'status', device);
  const status = {
    online: true,
    ...(MAINS_POWERED.has(device) ? {} : { battery: between(r, 35, 100) }),
    firmware: `1.${between(r, 0, 4)}.${between(r, 0, 9)}`,
    rssi: between(r, -85, -45),
  };
  return { atMs, device, action: 'publish', topic: STATUS_TOPIC, payload: JSON.stringify(status) };
}

/**
 * The home's daily life within the window, from its devices of `kinds`;
 * `keep` can leave some out (a device gone, a resident who fell).
 */
export function lifeEvents(
  ctx: PlanContext,
  window: PlanWindow,
  kinds: readonly DeviceKind[],
  keep: (event: LifeEvent, atMs: number) => boolean = () => true,
): PlannedEvent[] {
  const from = Math.max(0, window.fromMs);
  const to = Math.min(window.toMs, ctx.durationMs);
  if (from >= to) return [];
  // Widen by a millisecond and decide membership on atMs alone, so windows never disagree at their edges.
  const life = lifeBetween(ctx.seed, lifeTimeAt(ctx.clock, from) - 1, lifeTimeAt(ctx.clock, to) + 1, new Set(kinds));
  const out: PlannedEvent[] = [];
  for (const event of life) {
    const atMs = atMsOfLife(ctx.clock, event.lifeTime);
    if (inWindow(ctx, window, atMs) && keep(event, atMs)) out.push(readingEvent(ctx, event.device, atMs, event.reading));
  }
  return out;
}

/**
 * When a one-off event of a scenario happens: a few seconds into the run (a
 * demo shows it within a minute), and within the first half of short runs.
 */
export function momentOf(ctx: PlanContext, what: string, fromMs = 3000, toMs = 12_000): number {
  return Math.min(between(streamOf(ctx.seed, what), fromMs, toMs), ctx.durationMs / 2);
}
