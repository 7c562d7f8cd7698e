import { MAX_PAYLOAD_BYTES } from '../../core/schemas/readings.js';
import { inWindow, readingEvent } from './plan.js';
import { READINGS_TOPIC, type PlannedEvent, type Scenario } from './types.js';

const FIRST_MS = 1000;
const STEP_MS = 300;
// The refused topic comes last, after the errors of the others are back: it costs the connection.
const WRONG_TOPIC_PAUSE_MS = 2000;

export const badDevice: Scenario = {
  name: 'bad_device',
  summary: 'a thermometer with broken firmware: truncated JSON, an unknown type, Fahrenheit, a reset clock, a 70 KiB debug dump, a half-bad batch, then a topic it may not use',
  devices: ['thermometer'],
  expect: {
    // The broker closes the connection over the wrong topic, so the will fires.
    alerts: [{ kind: 'device_offline', rule: { deviceOf: 'thermometer' }, severity: 'info' }],
    errors: ['bad_json', 'unknown_type', 'out_of_range', 'ts_out_of_range', 'too_large', 'out_of_range'],
    disconnected: ['thermometer'],
  },
  plan(ctx, window) {
    const raw = (atMs: number, payload: string): PlannedEvent => ({ atMs, device: 'thermometer', action: 'publish', topic: READINGS_TOPIC, payload });
    const steps: ((atMs: number) => PlannedEvent)[] = [
      (at) => readingEvent(ctx, 'thermometer', at, { type: 'temperature', celsius: 36.6 }), // a good one, stored
      (at) => raw(at, '{"type":"temperature","celsius":36.'), // bad_json
      (at) => raw(at, '{"type":"temp_f","value":97.9}'), // unknown_type
      (at) => raw(at, '{"type":"temperature","celsius":97.9}'), // out_of_range: Fahrenheit
      (at) => raw(at, '{"type":"temperature","celsius":36.7,"ts":"2000-01-01T09:00:00+09:00"}'), // ts_out_of_range: clock reset
      (at) => raw(at, JSON.stringify({ type: 'temperature', celsius: 36.5, debug: 'x'.repeat(MAX_PAYLOAD_BYTES + 6 * 1024) })), // too_large
      (at) => raw(at, '{"readings":[{"type":"temperature","celsius":36.8},{"type":"temperature","celsius":-3}]}'), // out_of_range at index 1
    ];
    const events: PlannedEvent[] = [];
    steps.forEach((step, i) => {
      const at = FIRST_MS + i * STEP_MS;
      if (inWindow(ctx, window, at)) events.push(step(at));
    });
    const wrongAt = FIRST_MS + steps.length * STEP_MS + WRONG_TOPIC_PAUSE_MS;
    if (inWindow(ctx, window, wrongAt)) {
      events.push({ atMs: wrongAt, device: 'thermometer', action: 'publish', topic: 'dh/v1/devices/{id}/config', payload: '{"type":"temperature","celsius":36.6}', refused: true });
    }
    return events;
  },
};
