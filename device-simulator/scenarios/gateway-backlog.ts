import type { DeviceKind } from '../../core/schemas/registry.js';
import { MAX_BATCH_READINGS } from '../../core/schemas/readings.js';
import { HOUR, lifeTimeAt } from '../sim-clock.js';
import { lifeBetween } from './daily-life.js';
import { inWindow, lifeEvents, momentOf, statusEvent } from './plan.js';
import { READINGS_TOPIC, type PlannedEvent, type Reading, type Scenario } from './types.js';

// The sensors a 응급안전안심서비스-style gateway forwards for the home.
const FORWARDED: DeviceKind[] = ['motion_sensor', 'door_sensor', 'smart_plug'];
const BACKLOG_LIFE_MS = 8 * HOUR;
// Well under the 64 KiB payload limit (CONTRACT §2).
const MAX_BATCH_BYTES = 48 * 1024;

/** Splits readings into `{"readings": [...]}` payloads within the platform's batch and size limits. */
export function batchPayloads(readings: readonly Reading[]): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (batch.length) payloads.push(`{"readings":[${batch.join(',')}]}`);
    batch = [];
    bytes = 0;
  };
  for (const reading of readings) {
    const json = JSON.stringify(reading);
    if (batch.length === MAX_BATCH_READINGS || bytes + json.length + 20 > MAX_BATCH_BYTES) flush();
    batch.push(json);
    bytes += json.length + 1;
  }
  flush();
  return payloads;
}

export const gatewayBacklog: Scenario = {
  name: 'gateway_backlog',
  summary: 'the home\'s sensors talk through a gateway that was away for hours: it reconnects, flushes 8 h of buffered readings with their old ts in batches, then forwards live',
  devices: ['gateway'],
  connectLater: ['gateway'],
  expect: { alerts: [] },
  plan(ctx, window) {
    const connectAt = momentOf(ctx, 'reconnect', 2000, 8000);
    const events: PlannedEvent[] = [];
    if (inWindow(ctx, window, connectAt)) {
      events.push({ atMs: connectAt, device: 'gateway', action: 'connect' }, statusEvent(ctx, 'gateway', connectAt));
      const sentAt = ctx.clock.startTime + connectAt;
      const now = lifeTimeAt(ctx.clock, connectAt);
      // What the sensors did in the hours before, stamped with when it happened: hours old, never in the future.
      const backlog = lifeBetween(ctx.seed, now - BACKLOG_LIFE_MS, now, new Set(FORWARDED)).map(
        (e): Reading => ({ ...e.reading, ts: Math.round(sentAt - (now - e.lifeTime)) }),
      );
      for (const payload of batchPayloads(backlog)) events.push({ atMs: connectAt, device: 'gateway', action: 'publish', topic: READINGS_TOPIC, payload });
    }
    for (const live of lifeEvents(ctx, window, FORWARDED, (_e, atMs) => atMs > connectAt)) {
      if (live.action === 'publish') events.push({ ...live, device: 'gateway', payload: `{"readings":[${live.payload}]}` });
    }
    return events;
  },
};
