import { z } from 'zod';
import type { AlertsView } from '../alerts/index.js';
import { PlatformError } from '../core/errors.js';
import { AckBodySchema, NoteBodySchema, ResolveBodySchema, type Alert } from '../core/schemas/alert.js';
import type { Staff } from '../core/schemas/registry.js';
import { inScope } from './scope.js';
import { parse } from './validate.js';

export const alertActions = ['ack', 'escalate', 'resolve', 'note'] as const;
export type AlertAction = (typeof alertActions)[number];

const bodySchemas = {
  ack: AckBodySchema,
  escalate: NoteBodySchema,
  resolve: ResolveBodySchema,
  note: NoteBodySchema,
} satisfies Record<AlertAction, z.ZodType>;

/** An alert the staff member may see; anything else is "not found" (CONTRACT §5: 404, not 403). */
export function visibleAlert(alerts: AlertsView, staff: Staff, id: string): Alert {
  const alert = alerts.get(id);
  if (!alert || !inScope(staff, alert.dong)) throw new PlatformError('not_found', `no alert ${id}`);
  return alert;
}

/** The one path every staff action takes, from REST and from the socket alike. */
export async function performAlertAction(alerts: AlertsView, staff: Staff, action: AlertAction, id: string, body: unknown): Promise<Alert> {
  visibleAlert(alerts, staff, id);
  const by = staff.username;
  switch (action) {
    case 'ack': {
      const { note } = parse(bodySchemas.ack, body);
      return alerts.acknowledge(id, by, note);
    }
    case 'escalate':
      return alerts.escalate(id, by, parse(bodySchemas.escalate, body).note);
    case 'resolve': {
      const { outcome, note } = parse(bodySchemas.resolve, body);
      return alerts.resolve(id, by, outcome, note);
    }
    case 'note':
      return alerts.addNote(id, by, parse(bodySchemas.note, body).note);
  }
}
