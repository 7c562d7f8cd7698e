import type { ErrorCode } from '../../core/errors.js';
import type { AlertKind, Severity } from '../../core/schemas/alert.js';
import type { DeviceKind } from '../../core/schemas/registry.js';
import type { SimClock } from '../sim-clock.js';

/** A reading as a device sends it (CONTRACT §2); `ts` only when the simulated time is valid. */
export type Reading = { type: string; ts?: number } & Record<string, unknown>;

// `{id}` stands for the device id, filled in when the home is connected.
export const READINGS_TOPIC = 'dh/v1/devices/{id}/readings';
export const STATUS_TOPIC = 'dh/v1/devices/{id}/status';
export const ERRORS_TOPIC = 'dh/v1/devices/{id}/errors';
export const topicOf = (template: string, deviceId: string): string => template.replace('{id}', deviceId);

/** What one device of a home does at `atMs` real ms into the run. */
export type PlannedEvent = { atMs: number; device: DeviceKind } & (
  | {
      action: 'publish';
      topic: string;
      payload: string;
      /** The platform is expected to refuse this publish and close the connection. */
      refused?: true;
    }
  /** Connect now (a device that was away when the run started). */
  | { action: 'connect' }
  /** Vanish without DISCONNECT, as a device does when its power or uplink dies: the will fires. */
  | { action: 'drop' }
);

export interface PlanContext {
  /** This home's own seed (derived from `--seed` and the home's position). */
  seed: number;
  clock: SimClock;
  durationMs: number;
}

/** Real ms into the run, `fromMs` inclusive, `toMs` exclusive. */
export interface PlanWindow {
  fromMs: number;
  toMs: number;
}

export interface ExpectedAlert {
  kind: AlertKind;
  /** The alert's rule; for `device_offline` the rule is a device id, named here by the device's kind. */
  rule: string | { deviceOf: DeviceKind };
  severity: Severity;
}

/** What the platform should do with a home that plays this scenario. */
export interface ScenarioExpectation {
  /** Exactly these alerts for the home's resident; none when empty. */
  alerts: readonly ExpectedAlert[];
  /** Codes the home's devices get back on their errors topics (as a multiset). */
  errors?: readonly ErrorCode[];
  /** Devices the platform should disconnect. */
  disconnected?: readonly DeviceKind[];
}

/**
 * A scenario: the devices a home needs, what they send, and what the platform
 * should make of it. `plan` is pure: the same context and window always give
 * the same events, and planning a run window by window gives what planning it
 * whole would.
 */
export interface Scenario {
  name: string;
  summary: string;
  devices: readonly DeviceKind[];
  /** Devices that are away when the run starts and connect when the plan says so. */
  connectLater?: readonly DeviceKind[];
  /** The resident's inactivity window to provision; default the platform's (24 h). */
  inactivityHours?: number;
  expect: ScenarioExpectation;
  plan(ctx: PlanContext, window: PlanWindow): PlannedEvent[];
}
