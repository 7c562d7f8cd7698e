import { z } from 'zod';

// Ids appear in MQTT topics and InfluxDB tags: no '/', '+', '#', spaces or commas.
export const IdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -');
export const DongSchema = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a dong code (1–32 letters, digits, _ or -)');

/** Inclusive thresholds: `lowCritical` means "value ≤ lowCritical is critical". */
export const VitalBandSchema = z
  .object({
    lowCritical: z.number().optional(),
    lowWarning: z.number().optional(),
    highWarning: z.number().optional(),
    highCritical: z.number().optional(),
  })
  .strict();
export type VitalBand = z.infer<typeof VitalBandSchema>;

export const vitalNames = ['spo2', 'heart_rate', 'respiratory_rate', 'temperature', 'systolic', 'diastolic', 'glucose'] as const;
export type VitalName = (typeof vitalNames)[number];
export const VitalBandsSchema = z.partialRecord(z.enum(vitalNames), VitalBandSchema);
export type VitalBands = z.infer<typeof VitalBandsSchema>;

const residentFields = {
  displayName: z.string().trim().min(1).max(100),
  phone: z.string().trim().max(30).optional(),
  dong: DongSchema,
  birthYear: z.number().int().min(1900).max(2100).optional(),
  // Decimals allowed (tests use 0.001 h); at most two weeks.
  inactivityHours: z.number().positive().max(24 * 14),
  vitalBands: VitalBandsSchema.optional(),
  enabled: z.boolean(),
};

export const ResidentInputSchema = z
  .object({
    id: IdSchema.optional(),
    ...residentFields,
    inactivityHours: residentFields.inactivityHours.default(24),
    enabled: residentFields.enabled.default(true),
  })
  .strict();
export type ResidentInput = z.input<typeof ResidentInputSchema>;
export type Resident = Omit<z.infer<typeof ResidentInputSchema>, 'id'> & { id: string; createdAt: number; updatedAt: number };

// Built from the fields without defaults: zod 4 applies a default inside `.partial()`, so a PATCH
// of `displayName` alone would otherwise reset `inactivityHours` to 24 and `enabled` to true.
export const ResidentPatchSchema = z.object(residentFields).partial().strict();

export const deviceKinds = [
  'bp_monitor', 'glucometer', 'pulse_oximeter', 'thermometer', 'scale', 'smart_band',
  'smart_plug', 'door_sensor', 'motion_sensor', 'button', 'gateway',
] as const;
export type DeviceKind = (typeof deviceKinds)[number];

/** Minutes of silence before `device_offline`: sensors report every few minutes, health devices a few times a day. */
export const defaultOfflineMinutes: Record<DeviceKind, number> = {
  bp_monitor: 3 * 24 * 60,
  glucometer: 3 * 24 * 60,
  pulse_oximeter: 3 * 24 * 60,
  thermometer: 3 * 24 * 60,
  scale: 3 * 24 * 60,
  smart_band: 60,
  smart_plug: 60,
  door_sensor: 12 * 60,
  motion_sensor: 60,
  button: 24 * 60,
  gateway: 30,
};

export const DeviceInputSchema = z
  .object({
    id: IdSchema.optional(),
    residentId: IdSchema,
    kind: z.enum(deviceKinds),
    offlineAfterMinutes: z.number().positive().max(60 * 24 * 30).optional(),
    enabled: z.boolean().default(true),
  })
  .strict();
export type DeviceInput = z.input<typeof DeviceInputSchema>;
export interface Device {
  id: string;
  residentId: string;
  dong: string;
  kind: DeviceKind;
  offlineAfterMinutes: number;
  enabled: boolean;
  createdAt: number;
}

export const DevicePatchSchema = z
  .object({ offlineAfterMinutes: z.number().positive().max(60 * 24 * 30), enabled: z.boolean() })
  .partial()
  .strict();

export const roles = ['staff', 'nurse', 'health_center', 'admin'] as const;
export type Role = (typeof roles)[number];

export const StaffInputSchema = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_.-]{3,64}$/, 'must be 3–64 letters, digits, _ . or -'),
    password: z.string().min(8, 'must be at least 8 characters').max(200),
    displayName: z.string().trim().min(1).max(100),
    role: z.enum(roles),
    dongs: z.array(z.union([DongSchema, z.literal('*')])).min(1),
  })
  .strict();
export type StaffInput = z.input<typeof StaffInputSchema>;
export interface Staff {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  dongs: string[];
}

export const StaffPatchSchema = StaffInputSchema.omit({ username: true }).partial().strict();
export type StaffPatch = z.input<typeof StaffPatchSchema>;
