import type { Bus, BusTopics } from './bus.js';

type Topic = keyof BusTopics;

export interface BusBridge {
  /** Starts forwarding over `remote`; what was published locally before goes first, in order. */
  attach(remote: Bus): void;
  close(): void;
}

/**
 * Joins a process's own in-process bus to the services' bus of a split (DESIGN §3): the modules
 * of one service keep talking to the in-process bus as in the embedded platform, and the bridge
 * carries the topics other services need out (`outbound`) and theirs in (`inbound`). A topic is
 * only ever one of the two, so nothing echoes back and forth.
 *
 * The process's listeners start before its connection to the bus exists (the broker's bus is the
 * broker itself), so outbound messages wait in order until `attach`: an observation published in
 * that moment must still reach the alerts service.
 */
export function bridgeBus(local: Bus, topics: { outbound: readonly Topic[]; inbound: readonly Topic[] }): BusBridge {
  const overlap = topics.outbound.filter((t) => topics.inbound.includes(t));
  if (overlap.length > 0) throw new Error(`a bridged topic goes one way only: ${overlap.join(', ')}`);
  let remote: Bus | undefined;
  let waiting: [Topic, unknown][] = [];
  const send = (topic: Topic, message: unknown) => (remote as { publish(t: Topic, m: unknown): void }).publish(topic, message);
  const unsubscribe = [
    ...topics.outbound.map((topic) =>
      local.subscribe(topic, (message: unknown) => {
        if (remote) send(topic, message);
        else waiting.push([topic, message]);
      }),
    ),
  ];
  return {
    attach(bus) {
      remote = bus;
      for (const [topic, message] of waiting) send(topic, message);
      waiting = [];
      for (const topic of topics.inbound) {
        unsubscribe.push(bus.subscribe(topic, (message: unknown) => (local as { publish(t: Topic, m: unknown): void }).publish(topic, message)));
      }
    },
    close() {
      for (const u of unsubscribe) u();
      unsubscribe.length = 0;
    },
  };
}
