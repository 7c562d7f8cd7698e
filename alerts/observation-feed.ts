import type { Logger } from '../core/logger.js';
import type { ObservedMessage } from '../core/schemas/observation.js';

/** A page of the broker service's outbox after an id (ingest's `replayPage`). */
export interface ObservationPage {
  messages: ObservedMessage[];
  through: number;
}

export interface ObservationFeedDeps {
  /** The engine's processed cursor: it skips any reading at or below it. */
  processedThrough(): number;
  handle(messages: readonly ObservedMessage[]): void;
  /** The outbox after `afterId`, from the service that keeps it; rejects while it cannot answer. */
  fetchPage(afterId: number): Promise<ObservationPage>;
  log: Logger;
  retryMs?: number;
  /** With no message for this long, the feed asks the outbox for anything after it (default 2 s; 0 = never). */
  idleCheckMs?: number;
}

export interface ObservationFeed {
  /** Messages as the bus delivered them. */
  offer(messages: readonly ObservedMessage[]): void;
  /** Resolves when the feed has caught up once (tests and start-up logs). */
  caughtUp(): Promise<void>;
  close(): void;
}

/**
 * Observations that come over the split's bus, handed to the engine in outbox order with no
 * reading left out. In one process ingest replays the outbox before any new reading; between
 * processes the bus may lose what was in flight (a restarted broker keeps no queue, a
 * restarted alerts service starts from its durable cursor), so the outbox ids are the check:
 * a message that does not continue from what the engine processed means a gap, and the feed
 * pages through the outbox from there. Only a message that continues is handled, so the engine
 * sees every reading in order; live messages wait while a catch-up runs (one at a time), and
 * what the engine saw already it skips itself (by id), so overlaps are harmless.
 */
export function createObservationFeed(deps: ObservationFeedDeps): ObservationFeed {
  const retryMs = deps.retryMs ?? 1000;
  const idleCheckMs = deps.idleCheckMs ?? 2000;
  let known = deps.processedThrough();
  let catchingUp = false;
  let held: ObservedMessage[] = [];
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let caughtUpOnce!: () => void;
  const firstCatchUp = new Promise<void>((resolve) => (caughtUpOnce = resolve));

  const handle = (messages: readonly ObservedMessage[]) => {
    if (messages.length === 0) return;
    deps.handle(messages);
    known = Math.max(known, deps.processedThrough());
  };

  const catchUp = async (): Promise<void> => {
    let pages = 0;
    let readings = 0;
    for (;;) {
      let page: ObservationPage;
      try {
        page = await deps.fetchPage(known);
      } catch (err) {
        if (closed) return;
        deps.log.warn({ err: (err as Error).message, after: known }, 'cannot read the outbox from the broker service yet; retrying');
        await new Promise<void>((resolve) => (timer = setTimeout(resolve, retryMs)));
        if (closed) return;
        continue;
      }
      if (closed) return;
      if (page.messages.length === 0) break;
      handle(page.messages);
      known = Math.max(known, page.through);
      pages++;
      for (const m of page.messages) readings += m.readings.length;
    }
    if (pages > 0) deps.log.info({ readings, through: known }, 'caught up with the outbox');
    catchingUp = false;
    const waiting = held;
    held = [];
    caughtUpOnce();
    offer(waiting);
  };

  const startCatchUp = () => {
    catchingUp = true;
    catchUp().catch((err: unknown) => {
      // Held messages stay held: the next attempt starts where the engine is.
      deps.log.error({ err: (err as Error).message }, 'observation catch-up failed; retrying');
      if (!closed) timer = setTimeout(startCatchUp, retryMs);
    });
  };

  let lastOffer = Date.now();
  function offer(messages: readonly ObservedMessage[]): void {
    if (closed) return;
    lastOffer = Date.now();
    if (catchingUp) {
      held.push(...messages);
      return;
    }
    // The messages before a gap are handled together, then the feed catches up from the gap.
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const first = m.firstOutboxId;
      if (first === undefined) continue; // not from an outbox: nothing to order it by (never sent between processes)
      if (first > known + 1) {
        handle(messages.slice(0, i));
        held = messages.slice(i);
        startCatchUp();
        return;
      }
      known = Math.max(known, first + m.readings.length - 1);
    }
    handle(messages);
  }

  startCatchUp(); // what arrived in the outbox while this service was away
  // A gap shows when the next message arrives; when none does (the broker service died right after
  // storing an SOS, and the house is quiet since), the outbox is asked instead.
  const idleTimer = idleCheckMs > 0
    ? setInterval(() => {
      if (!catchingUp && Date.now() - lastOffer >= idleCheckMs) startCatchUp();
    }, idleCheckMs)
    : undefined;
  idleTimer?.unref();
  return {
    offer,
    caughtUp: () => firstCatchUp,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (idleTimer) clearInterval(idleTimer);
    },
  };
}
