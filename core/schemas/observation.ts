import type { ReadingFields, ReadingType } from './readings.js';

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

export interface DeviceStatus {
  deviceId: string;
  residentId: string;
  dong: string;
  online: boolean;
  battery?: number;
  at: number;
}
