import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { waitFor } from '../core/net.js';
import type { ObservedMessage } from '../core/schemas/observation.js';
import { createObservationFeed, type ObservationPage } from './observation-feed.js';

/** Messages of `n` readings each with consecutive outbox ids from 1: what the broker service's outbox holds. */
function outboxOf(sizes: number[]): ObservedMessage[] {
  let next = 1;
  return sizes.map((n) => {
    const m: ObservedMessage = {
      residentId: 'r1', deviceId: 'd1', dong: '1111051500', receivedAt: 0,
      readings: Array.from({ length: n }, (_, k) => ({ type: 'heart_rate' as const, ts: next + k, fields: { bpm: 60 } })),
      firstOutboxId: next,
    };
    next += n;
    return m;
  });
}

/** The engine as far as the feed sees it: skips by id as AlertEngine.observeMessage does, and records what it processed. */
function engineStub(startAt = 0) {
  let cursor = startAt;
  const processed: number[] = [];
  return {
    processed,
    processedThrough: () => cursor,
    handle(messages: readonly ObservedMessage[]) {
      for (const m of messages) {
        const first = m.firstOutboxId!;
        for (let k = Math.max(0, cursor + 1 - first); k < m.readings.length; k++) processed.push(first + k);
        cursor = Math.max(cursor, first + m.readings.length - 1);
      }
    },
  };
}

/** Pages of the outbox as ingest's replayPage gives them (at most `perPage` messages). */
function pagesOf(outbox: ObservedMessage[], perPage = 2) {
  const asked: number[] = [];
  return {
    asked,
    fetch: async (after: number): Promise<ObservationPage> => {
      asked.push(after);
      const messages = outbox.filter((m) => m.firstOutboxId! + m.readings.length - 1 > after).slice(0, perPage);
      const last = messages.at(-1);
      return { messages, through: last ? last.firstOutboxId! + last.readings.length - 1 : after };
    },
  };
}

const log = createLogger('silent');
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the observation feed between processes', () => {
  it('catches up from the engine cursor at start; live messages wait meanwhile instead of starting another catch-up', async () => {
    const outbox = outboxOf([3, 3, 3, 3]); // ids 1–12
    const engine = engineStub(4); // processed through 4 before the restart
    const pages = pagesOf(outbox.slice(0, 3)); // the outbox when the catch-up reads it: ids 1–9
    const feed = createObservationFeed({ ...engine, fetchPage: pages.fetch, log });
    feed.offer([outbox[2]!, outbox[3]!]); // live, while catching up: ids 7–12
    await feed.caughtUp();
    await tick();
    expect(engine.processed).toEqual(range(5, 12)); // each once, in order
    expect(pages.asked).toEqual([4, 9]); // one catch-up: from the cursor, then the empty page after what it read
  });

  it('a message that does not continue from the engine cursor starts a catch-up from the gap', async () => {
    const outbox = outboxOf([2, 2, 2, 2, 2]); // ids 1–10
    const engine = engineStub();
    let stored = 0; // messages in the outbox so far
    const feed = createObservationFeed({ ...engine, log, fetchPage: (after) => pagesOf(outbox.slice(0, stored)).fetch(after) });
    await feed.caughtUp();
    stored = 1;
    feed.offer([outbox[0]!]);
    expect(engine.processed).toEqual([1, 2]);
    // ids 3–6 were lost on the way (a broker restart): 7–8 arrive, then 9–10 while catching up
    stored = 5;
    feed.offer([outbox[3]!]);
    expect(engine.processed).toEqual([1, 2]);
    feed.offer([outbox[4]!]);
    await tick();
    await tick();
    expect(engine.processed).toEqual(range(1, 10));
    feed.close();
  });

  it('a gap in the middle of a delivered batch: the messages before it are handled, the rest after the catch-up', async () => {
    const outbox = outboxOf([1, 1, 1, 1, 1]); // ids 1–5
    const engine = engineStub();
    let readable = 0; // how much of the outbox the broker service answers with
    const feed = createObservationFeed({
      ...engine, log,
      fetchPage: async (after) => {
        const messages = outbox.slice(0, readable).filter((m) => m.firstOutboxId! > after);
        return { messages, through: messages.at(-1)?.firstOutboxId ?? after };
      },
    });
    await feed.caughtUp();
    readable = 5;
    feed.offer([outbox[0]!, outbox[1]!, outbox[3]!, outbox[4]!]); // id 3 missing
    expect(engine.processed).toEqual([1, 2]);
    await tick();
    await tick();
    expect(engine.processed).toEqual([1, 2, 3, 4, 5]);
    feed.close();
  });

  it('keeps retrying while the broker service does not answer, and loses nothing meanwhile', async () => {
    const outbox = outboxOf([2, 2, 2]);
    const engine = engineStub();
    let failures = 3;
    const pages = pagesOf(outbox, 1);
    const feed = createObservationFeed({
      ...engine, log, retryMs: 1,
      fetchPage: (after) => (failures-- > 0 ? Promise.reject(new Error('request timed out')) : pages.fetch(after)),
    });
    feed.offer([outbox[2]!]);
    await feed.caughtUp();
    await tick();
    expect(engine.processed).toEqual(range(1, 6));
    feed.close();
  });

  it('asks the outbox when nothing arrives for a while: a reading whose message was lost with no other after it', async () => {
    const outbox = outboxOf([1, 1]); // e.g. an SOS stored just before the broker service died, then silence
    const engine = engineStub();
    let stored = 0;
    const feed = createObservationFeed({ ...engine, log, idleCheckMs: 20, fetchPage: (after) => pagesOf(outbox.slice(0, stored)).fetch(after) });
    await feed.caughtUp();
    stored = 2; // in the outbox; its observations never come over the bus
    await waitFor(() => engine.processed.length === 2, 2000, 'the idle check to read the outbox');
    expect(engine.processed).toEqual([1, 2]);
    feed.close();
  });

  it('tries the catch-up again when handing a page over failed, holding what arrived meanwhile', async () => {
    const outbox = outboxOf([2, 2, 2]);
    const engine = engineStub();
    let failures = 1;
    const feed = createObservationFeed({
      processedThrough: engine.processedThrough, log, retryMs: 1, fetchPage: pagesOf(outbox.slice(0, 2)).fetch,
      handle: (messages) => {
        if (failures-- > 0) throw new Error('engine busy');
        engine.handle(messages);
      },
    });
    feed.offer([outbox[2]!]); // live, while the failed catch-up waits to try again
    await feed.caughtUp();
    await tick();
    expect(engine.processed).toEqual(range(1, 6));
    feed.close();
  });

  it('duplicates (a queued delivery and the catch-up of the same ids) are processed once', async () => {
    const outbox = outboxOf([2, 2]);
    const engine = engineStub();
    const feed = createObservationFeed({ ...engine, fetchPage: pagesOf(outbox).fetch, log });
    feed.offer(outbox);
    await feed.caughtUp();
    await tick();
    feed.offer(outbox);
    expect(engine.processed).toEqual(range(1, 4));
    feed.close();
  });
});
