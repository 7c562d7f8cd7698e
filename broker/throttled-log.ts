import type { Logger } from '../core/logger.js';

/**
 * Logs a refusal at most once per `intervalMs` for each reason (DESIGN §8: logged once
 * at a bounded rate), with how many like it were not logged since. Metrics count every one.
 */
export function throttledLog(log: Logger, intervalMs = 10_000) {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (reason: string, fields: Record<string, unknown>, message: string): void => {
    const now = Date.now();
    const seen = last.get(reason);
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    log.info({ ...fields, reason, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, message);
    last.set(reason, { at: now, suppressed: 0 });
  };
}

export type ThrottledLog = ReturnType<typeof throttledLog>;
