import type { Logger } from './logger.js';

export type CleanupStep = () => Promise<void> | void;

/** What a composition root started, to stop at close: last started first. */
export interface Cleanups {
  push(step: CleanupStep): void;
  /** Runs every step once; a failing step is logged and the others still run. */
  run(): Promise<void>;
}

export function createCleanups(log: Logger): Cleanups {
  const steps: CleanupStep[] = [];
  return {
    push: (step) => void steps.push(step),
    async run() {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (err) {
          log.error({ err: (err as Error).message }, 'shutdown step failed');
        }
      }
    },
  };
}
