import type { AlertKind, Severity } from '../core/schemas/alert.js';
import type { Home } from './homes.js';
import { scenarioNamed } from './scenarios/index.js';

export interface AlertIdentity {
  kind: AlertKind;
  rule: string;
  severity: Severity;
}

/** The alerts a provisioned home's scenario should raise, with device rules resolved to the home's device ids. */
export function expectedAlertsOf(home: Home): AlertIdentity[] {
  if (!home.scenario) return [];
  return scenarioNamed(home.scenario).expect.alerts.map((a) => {
    if (typeof a.rule === 'string') return { kind: a.kind, rule: a.rule, severity: a.severity };
    const kind = a.rule.deviceOf;
    const device = home.devices.find((d) => d.kind === kind);
    if (!device) throw new Error(`home of ${home.residentId} has no ${kind}`);
    return { kind: a.kind, rule: device.id, severity: a.severity };
  });
}

/** A stable text for comparing sets of alerts in tests and reports. */
export const alertIdentity = (a: AlertIdentity): string => `${a.kind}/${a.rule}/${a.severity}`;
