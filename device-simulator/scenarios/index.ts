import { badDevice } from './bad-device.js';
import { deviceOffline } from './device-offline.js';
import { gatewayBacklog } from './gateway-backlog.js';
import { normal } from './normal.js';
import { silent } from './silent.js';
import { fall, sos } from './sos-and-fall.js';
import type { Scenario } from './types.js';
import { vitalEmergencies } from './vital-emergencies.js';

export type { ExpectedAlert, PlannedEvent, Reading, Scenario, ScenarioExpectation } from './types.js';

/** Every scenario by name: what `--scenario` accepts. */
export const scenarios: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [normal, silent, ...vitalEmergencies, fall, sos, deviceOffline, gatewayBacklog, badDevice].map((s) => [s.name, s]),
);

export const scenarioNames = Object.keys(scenarios);

export function scenarioNamed(name: string): Scenario {
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`unknown scenario ${JSON.stringify(name)} (one of ${scenarioNames.join(', ')})`);
  return scenario;
}
