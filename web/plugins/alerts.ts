import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AlertsView } from '../../alerts/index.js';
import { levels, statuses } from '../../core/schemas/alert.js';
import { IdSchema } from '../../core/schemas/registry.js';
import type { Registry } from '../../registry/store.js';
import { alertActions, performAlertAction, visibleAlert } from '../alert-actions.js';
import { requireStaff } from '../auth.js';
import { scopeDongs } from '../scope.js';
import { parse } from '../validate.js';

const ListQuerySchema = z.object({
  status: z.enum(statuses).optional(),
  level: z.enum(levels).optional(),
  dong: z.string().max(32).optional(),
  residentId: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

export async function alertsPlugin(app: FastifyInstance, { registry, alerts }: { registry: Registry; alerts: AlertsView }): Promise<void> {
  app.addHook('preHandler', requireStaff(registry));

  app.get('/api/alerts', async (request) => {
    const q = parse(ListQuerySchema, request.query);
    return alerts.list({ ...q, dongs: scopeDongs(request.staff!) });
  });

  app.get<{ Params: { id: string } }>('/api/alerts/:id', async (request) => visibleAlert(alerts, request.staff!, request.params.id));

  for (const action of alertActions) {
    app.post<{ Params: { id: string } }>(`/api/alerts/:id/${action}`, async (request) =>
      performAlertAction(alerts, request.staff!, action, request.params.id, request.body),
    );
  }
}
