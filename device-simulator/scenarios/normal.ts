import { HOME_KIT } from './daily-life.js';
import { lifeEvents } from './plan.js';
import type { Scenario } from './types.js';

export const normal: Scenario = {
  name: 'normal',
  summary: 'an ordinary day: motion while awake, quiet nights, the TV plug switching, BP morning and evening, glucose before meals, now and then SpO2 and temperature',
  devices: HOME_KIT,
  expect: { alerts: [] },
  plan: (ctx, window) => lifeEvents(ctx, window, HOME_KIT),
};
