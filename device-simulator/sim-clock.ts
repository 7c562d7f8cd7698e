/**
 * Simulated time. The homes live on a timeline of their own that starts at
 * `startMinute` (local time of day) and runs `speed` times faster than real
 * time, so a day of life fits in minutes. The platform's clock is never
 * touched: it sees simulated time only through a reading's `ts`
 * (`startTime + atMs × speed`), and only when that `ts` is one it accepts.
 */
export interface SimClock {
  /** Real epoch ms when the run starts: `atMs` counts from here. */
  readonly startTime: number;
  readonly speed: number;
  /** Local time of day (minutes after midnight) at which the homes' day starts. */
  readonly startMinute: number;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

// CONTRACT §2 rejects a ts more than 5 min ahead or older than 30 days; keep a
// margin for clock skew between this machine and the platform.
const MAX_AHEAD_MS = 4 * MINUTE;
const MAX_AGE_MS = 29 * DAY;

/** Life time (ms since the midnight before the run's first day) at `atMs` real ms into the run. */
export const lifeTimeAt = (clock: SimClock, atMs: number): number => clock.startMinute * MINUTE + atMs * clock.speed;

/** Real ms into the run at which life time reaches `lifeTime` (negative: before the run). */
export const atMsOfLife = (clock: SimClock, lifeTime: number): number => (lifeTime - clock.startMinute * MINUTE) / clock.speed;

/**
 * The `ts` a reading sent at `atMs` may carry: its simulated epoch time when the
 * platform would accept it, else none (the platform then stamps receipt time).
 * A message is never sent before `startTime + atMs`, only later, which only
 * makes the ts older, so deciding here, ahead of time, is safe.
 */
export function tsFor(clock: SimClock, atMs: number): number | undefined {
  const sentAt = clock.startTime + atMs;
  const simulated = clock.startTime + atMs * clock.speed;
  return simulated - sentAt <= MAX_AHEAD_MS && sentAt - simulated <= MAX_AGE_MS ? Math.round(simulated) : undefined;
}

/** Minutes after midnight in Seoul (UTC+9 all year, no daylight saving). */
export const seoulMinuteOfDay = (epochMs: number): number => Math.floor(((epochMs + 9 * HOUR) % DAY) / MINUTE);
