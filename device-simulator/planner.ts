import { deriveSeed } from './random.js';
import { scenarioNamed } from './scenarios/index.js';
import { statusEvent } from './scenarios/plan.js';
import type { PlanContext, PlannedEvent, PlanWindow } from './scenarios/types.js';
import type { SimClock } from './sim-clock.js';

export interface PlanInput {
  seed: number;
  clock: SimClock;
  durationMs: number;
  /** The homes in order; a home's plan depends only on the seed, its position and its scenario. */
  homes: readonly { scenario: string }[];
}

/** A planned event of the home at position `home`. */
export type SimEvent = PlannedEvent & { home: number };

export const homeSeed = (seed: number, home: number): number => deriveSeed(seed, 'home', home);

const byTime = (a: { atMs: number }, b: { atMs: number }) => a.atMs - b.atMs;

/** One home's events in the window, in time order: its devices announce themselves at 0, then its scenario plays. */
export function planHome(input: PlanInput, home: number, window: PlanWindow): PlannedEvent[] {
  const scenario = scenarioNamed(input.homes[home]!.scenario);
  const ctx: PlanContext = { seed: homeSeed(input.seed, home), clock: input.clock, durationMs: input.durationMs };
  const later = new Set(scenario.connectLater ?? []);
  const events: PlannedEvent[] = window.fromMs <= 0 && window.toMs > 0 && input.durationMs > 0
    ? scenario.devices.filter((d) => !later.has(d)).map((d) => statusEvent(ctx, d, 0))
    : [];
  events.push(...scenario.plan(ctx, window));
  return events.sort(byTime); // stable: events at the same moment keep the scenario's order
}

/**
 * The message sequence of a run, pure: the same input always yields the same
 * events, so `--seed` replays a run; and planning window by window yields what
 * planning the whole run would, so a long run never holds all of it at once.
 */
export function planSequence(input: PlanInput, window: PlanWindow = { fromMs: 0, toMs: input.durationMs }): SimEvent[] {
  return input.homes.flatMap((_h, home) => planHome(input, home, window).map((e) => ({ ...e, home }))).sort(byTime);
}
