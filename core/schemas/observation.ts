import type { ReadingFields, ReadingType, ValidReading } from './readings.js';

/** An accepted reading with the identity the broker proved (never taken from the payload). */
export interface Observation {
  residentId: string;
  deviceId: string;
  dong: string;
  type: ReadingType;
  ts: number; // epoch ms: when it happened (device clock or receipt)
  receivedAt: number; // epoch ms: when the platform accepted it
  fields: ReadingFields;
  /** Its row in the ingest outbox, once durable: the alerts engine's replay cursor counts these. */
  outboxId?: number;
}

/**
 * The accepted readings of one message: what the bus carries, one object a message
 * rather than one a reading (an observation object per reading was ~3 % of the
 * platform's CPU in the gateway mix, and the engine looked the device up for each).
 */
export interface ObservedMessage {
  residentId: string;
  deviceId: string;
  dong: string;
  receivedAt: number; // epoch ms: when the platform accepted it
  readings: readonly ValidReading[];
  /** The outbox id of readings[0], once durable; readings[k] has firstOutboxId + k. */
  firstOutboxId?: number;
}

export interface DeviceStatus {
  deviceId: string;
  residentId: string;
  dong: string;
  online: boolean;
  battery?: number;
  at: number;
}
