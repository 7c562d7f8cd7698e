import { z } from 'zod';
import type { VitalName } from './registry.js';

export const alertKinds = ['missed_checkin', 'abnormal_vital', 'sos', 'fall', 'device_offline'] as const;
export type AlertKind = (typeof alertKinds)[number];
export const severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof severities)[number];
export const statuses = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof statuses)[number];
export const levels = ['dong', 'nurse', 'health_center'] as const;
export type AlertLevel = (typeof levels)[number];
export const outcomes = ['visited', 'phoned', 'false_alarm', 'hospital', 'emergency_services', 'other'] as const;
export type Outcome = (typeof outcomes)[number];

export const severityRank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export interface HistoryEntry {
  at: number;
  action: 'opened' | 'repeated' | 'severity_raised' | 'notified' | 'recovered' | 'acknowledged' | 'escalated' | 'resolved' | 'note';
  by: string; // 'system' or a staff username
  note?: string;
}

/** The NEWS2 parameters a home can measure (consciousness and oxygen are assumed: alert, on air). */
export type News2Parameter = 'respiratory_rate' | 'spo2' | 'systolic' | 'heart_rate' | 'temperature';

/**
 * Why an alert fired, as data the console can put into words (in Korean) without
 * parsing `reason`, which stays English for logs. Describes the latest trigger.
 */
export type AlertDetail =
  | {
      type: 'vital';
      vital: VitalName;
      value: number;
      unit: string;
      threshold: number; // the inclusive threshold crossed
      direction: 'low' | 'high';
      with?: VitalName[]; // fever rule: the other abnormal vitals that made it critical
    }
  | {
      type: 'news2';
      score: number;
      partial: true; // consciousness and oxygen are not measured at home
      parameters: Partial<Record<News2Parameter, { value: number; score: number }>>;
      missing: News2Parameter[];
    }
  | { type: 'weight_trend'; gainKg: number; fromKg: number; toKg: number; fromAt: number; windowHours: number; thresholdKg: number }
  | { type: 'inactivity'; lastActivityAt: number; silentMs: number; windowMs: number }
  | { type: 'device_offline'; deviceId: string; cause: 'will' | 'silence'; lastSeenAt?: number; offlineAfterMs?: number; battery?: number }
  | { type: 'sos' }
  | { type: 'fall'; confidence?: number };

/** The alert JSON of CONTRACT §4. */
export interface Alert {
  id: string;
  seq: number;
  residentId: string;
  dong: string;
  kind: AlertKind;
  rule: string;
  severity: Severity;
  status: AlertStatus;
  level: AlertLevel;
  openedAt: number;
  lastSeenAt: number;
  levelChangedAt?: number;
  count: number;
  lastValue: number | string | null;
  reason: string;
  detail?: AlertDetail;
  recoveredAt?: number;
  acknowledgedAt?: number;
  resolvedAt?: number;
  outcome?: Outcome;
  history: HistoryEntry[];
}

export const NoteBodySchema = z.object({ note: z.string().trim().min(1).max(2000) }).strict();
export const AckBodySchema = z.object({ note: z.string().trim().max(2000).optional() }).strict();
export const ResolveBodySchema = z
  .object({ outcome: z.enum(outcomes), note: z.string().trim().max(2000).optional() })
  .strict();
