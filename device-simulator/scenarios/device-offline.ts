import { HOME_KIT } from './daily-life.js';
import { inWindow, lifeEvents, momentOf } from './plan.js';
import type { Scenario } from './types.js';

export const deviceOffline: Scenario = {
  name: 'device_offline',
  summary: 'the smart plug loses power and vanishes without a DISCONNECT: the broker publishes its will → device_offline',
  devices: HOME_KIT,
  expect: { alerts: [{ kind: 'device_offline', rule: { deviceOf: 'smart_plug' }, severity: 'info' }] },
  plan(ctx, window) {
    const dropAt = momentOf(ctx, 'drop');
    const events = lifeEvents(ctx, window, HOME_KIT, (e, atMs) => e.device !== 'smart_plug' || atMs < dropAt);
    if (inWindow(ctx, window, dropAt)) events.push({ atMs: dropAt, device: 'smart_plug', action: 'drop' });
    return events;
  },
};
