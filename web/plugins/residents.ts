import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertsView } from '../../alerts/index.js';
// The pure function only: the console draws the same bands the alerts engine judges by.
import { bandsFor } from '../../alerts/rules/vital-bands.js';
import { PlatformError } from '../../core/errors.js';
import { readingRequiredFieldNames, readingTypes } from '../../core/schemas/readings.js';
import type { Alert } from '../../core/schemas/alert.js';
import { VitalBandsSchema, type Resident, type Staff } from '../../core/schemas/registry.js';
import type { InfluxClient } from '../../influx/client.js';
import type { Registry } from '../../registry/store.js';
import { requireStaff } from '../auth.js';
import { deviceStatusView, type DeviceStatusTracker } from '../device-status.js';
import { inScope, scopeDongs } from '../scope.js';
import { parse } from '../validate.js';

const ReadingsQuerySchema = z
  .object({
    type: z.enum(readingTypes),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'must be before to', path: ['from'] });

const READINGS_LIMIT = 10_000;
const RECENT_RESOLVED = 20;
// Tags every point carries that the caller knows already (CONTRACT §3).
const knownTags = new Set(['resident', 'dong', 'type']);

export interface ResidentsOptions {
  registry: Registry;
  alerts: AlertsView;
  influx: InfluxClient;
  deviceStatus: DeviceStatusTracker;
}

export async function residentsPlugin(app: FastifyInstance, { registry, alerts, influx, deviceStatus }: ResidentsOptions): Promise<void> {
  app.addHook('preHandler', requireStaff(registry));

  const visibleResident = (staff: Staff, id: string): Resident => {
    const resident = registry.getResident(id);
    if (!resident || !inScope(staff, resident.dong)) throw new PlatformError('not_found', `no resident ${id}`);
    return resident;
  };
  const openAlertCount = (dongs: readonly string[] | null) => {
    const counts = new Map<string, number>();
    for (const a of alerts.list({ dongs, limit: 1000 }).alerts) counts.set(a.residentId, (counts.get(a.residentId) ?? 0) + 1);
    return counts;
  };

  app.get('/api/residents', async (request) => {
    const { dong } = parse(z.object({ dong: z.string().max(32).optional() }), request.query);
    const dongs = scopeDongs(request.staff!);
    const counts = openAlertCount(dongs);
    const residents = registry.listResidents(dongs ?? undefined).filter((r) => !dong || r.dong === dong);
    return {
      residents: residents.map((r) => ({ ...r, lastActivityAt: alerts.lastActivity(r.id) ?? null, openAlerts: counts.get(r.id) ?? 0 })),
    };
  });

  const alertsOf = (resident: Resident, status: 'resolved' | undefined, wanted: number): Alert[] =>
    alerts.list({ dongs: [resident.dong], residentId: resident.id, limit: wanted, ...(status ? { status } : {}) }).alerts;

  // CONTRACT §4: a nurse overrides a resident's vital bands (e.g. SpO2 88–92 % for COPD); the engine
  // judges the next reading by them. PUT replaces the overrides; `{}` returns to the defaults.
  app.put<{ Params: { id: string } }>('/api/residents/:id/vital-bands', async (request) => {
    const staff = request.staff!;
    const resident = visibleResident(staff, request.params.id);
    if (staff.role === 'staff') throw new PlatformError('forbidden', 'vital bands are set by a nurse, the health centre or an admin');
    const vitalBands = parse(VitalBandsSchema, request.body);
    const updated = registry.updateResident(resident.id, { vitalBands });
    request.log.info({ residentId: resident.id, by: staff.username, vitals: Object.keys(vitalBands) }, 'vital bands changed');
    return { residentId: updated.id, vitalBands: updated.vitalBands ?? {}, bands: bandsFor(updated.vitalBands) };
  });

  app.get<{ Params: { id: string } }>('/api/residents/:id', async (request) => {
    const resident = visibleResident(request.staff!, request.params.id);
    const now = Date.now();
    const devices = registry.listDevices(resident.id).map((d) => ({ ...d, status: deviceStatusView(d, deviceStatus.get(d.id), now) }));
    return {
      ...resident,
      bands: bandsFor(resident.vitalBands),
      devices,
      lastActivityAt: alerts.lastActivity(resident.id) ?? null,
      openAlerts: alertsOf(resident, undefined, 1000),
      recentAlerts: alertsOf(resident, 'resolved', RECENT_RESOLVED),
    };
  });

  app.get<{ Params: { id: string } }>('/api/residents/:id/readings', async (request) => {
    const resident = visibleResident(request.staff!, request.params.id);
    const q = parse(ReadingsQuerySchema, request.query);
    const to = q.to ? Date.parse(q.to) : Date.now();
    const from = q.from ? Date.parse(q.from) : to - 7 * 24 * 3_600_000;
    // Every value in the query is validated (type enum, numeric times, resident id pattern): no injection.
    // Newest first, so a range with more points than the limit loses its oldest end, not today's.
    const series = await influx.query(
      `SELECT * FROM "${q.type}" WHERE "resident" = '${resident.id}' AND time >= ${from}ms AND time <= ${to}ms ORDER BY time DESC LIMIT ${READINGS_LIMIT}`,
    );
    const s = series[0];
    // InfluxDB makes a point's fields visible one by one while its write is in flight
    // (influxdata/influxdb#8546, "wontfix"): a row without a field every reading of
    // the type has is half-written, and shows up whole on the next request.
    const required = s ? readingRequiredFieldNames[q.type].map((name) => s.columns.indexOf(name)) : [];
    const readings = s
      ? s.values
          .filter((row) => required.every((i) => i >= 0 && row[i] !== null))
          .map((row) => Object.fromEntries(s.columns.flatMap((c, i) => (knownTags.has(c) ? [] : [[c === 'time' ? 'ts' : c, row[i]]]))))
          .reverse()
      : [];
    return { residentId: resident.id, type: q.type, from, to, readings, truncated: (s?.values.length ?? 0) === READINGS_LIMIT };
  });
}
