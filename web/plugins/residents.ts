import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertsService } from '../../alerts/index.js';
import { PlatformError } from '../../core/errors.js';
import { readingTypes } from '../../core/schemas/readings.js';
import type { Resident, Staff } from '../../core/schemas/registry.js';
import type { InfluxClient } from '../../influx/client.js';
import type { Registry } from '../../registry/store.js';
import { requireStaff } from '../auth.js';
import { inScope, scopeDongs } from '../scope.js';
import { parse } from '../validate.js';

const ReadingsQuerySchema = z.object({
  type: z.enum(readingTypes),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export interface ResidentsOptions {
  registry: Registry;
  alerts: AlertsService;
  influx: InfluxClient;
}

export async function residentsPlugin(app: FastifyInstance, { registry, alerts, influx }: ResidentsOptions): Promise<void> {
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

  app.get<{ Params: { id: string } }>('/api/residents/:id', async (request) => {
    const resident = visibleResident(request.staff!, request.params.id);
    const open = alerts.list({ dongs: [resident.dong], limit: 1000 }).alerts.filter((a) => a.residentId === resident.id);
    return { ...resident, devices: registry.listDevices(resident.id), lastActivityAt: alerts.lastActivity(resident.id) ?? null, openAlerts: open };
  });

  app.get<{ Params: { id: string } }>('/api/residents/:id/readings', async (request) => {
    const resident = visibleResident(request.staff!, request.params.id);
    const q = parse(ReadingsQuerySchema, request.query);
    const to = q.to ? Date.parse(q.to) : Date.now();
    const from = q.from ? Date.parse(q.from) : to - 7 * 24 * 3_600_000;
    // Every value in the query is validated (type enum, numeric times, resident id pattern): no injection.
    const series = await influx.query(
      `SELECT * FROM "${q.type}" WHERE "resident" = '${resident.id}' AND time >= ${from}ms AND time <= ${to}ms ORDER BY time ASC LIMIT 10000`,
    );
    const s = series[0];
    const readings = s
      ? s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c === 'time' ? 'ts' : c, row[i]])))
      : [];
    return { residentId: resident.id, type: q.type, from, to, readings };
  });
}
