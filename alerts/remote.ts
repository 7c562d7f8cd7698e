import { z } from 'zod';
import { PlatformError } from '../core/errors.js';
import type { MqttBus } from '../core/mqtt-bus.js';
import { outcomes, type Alert } from '../core/schemas/alert.js';
import type { AlertsService, AlertsView } from './index.js';
import type { AlertStore } from './store.js';

// A staff action as it travels from the console's process to the alerts process. The console
// validated the staff member's body already; the alerts service checks the shape again, as
// any service does with what comes over the wire.
const ActionSchema = z.object({
  id: z.string().min(1).max(100),
  by: z.string().min(1).max(100),
  note: z.string().max(2000).optional(),
  outcome: z.enum(outcomes).optional(),
}).strict();
type ActionParams = z.infer<typeof ActionSchema>;

function actionParams(params: unknown): ActionParams {
  const parsed = ActionSchema.safeParse(params);
  if (!parsed.success) throw new PlatformError('bad_request', `staff action: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

const required = <T>(value: T | undefined, name: string): T => {
  if (value === undefined) throw new PlatformError('bad_request', `staff action: ${name} is required`, name);
  return value;
};

/** The alerts process answers the staff actions of the split's console (DESIGN §3 request/response). */
export function serveStaffActions(bus: Pick<MqttBus, 'serve'>, alerts: AlertsService): void {
  bus.serve({
    acknowledge: (p: unknown) => {
      const { id, by, note } = actionParams(p);
      return alerts.acknowledge(id, by, note);
    },
    escalate: (p: unknown) => {
      const { id, by, note } = actionParams(p);
      return alerts.escalate(id, by, required(note, 'note'));
    },
    resolve: (p: unknown) => {
      const { id, by, outcome, note } = actionParams(p);
      return alerts.resolve(id, by, required(outcome, 'outcome'), note);
    },
    addNote: (p: unknown) => {
      const { id, by, note } = actionParams(p);
      return alerts.addNote(id, by, required(note, 'note'));
    },
  });
}

/**
 * The console's view of the alerts service in a split: it reads the alerts process's store (one
 * SQLite file on the shared data volume; only the alerts process writes it) and sends staff
 * actions to that process, which answers with the changed alert once it is stored.
 * Last activity is as of the engine's last flush (the scan interval, 1 s by default).
 */
export function remoteAlerts(store: AlertStore, bus: Pick<MqttBus, 'request'>): AlertsView {
  const act = (method: string, params: ActionParams) => bus.request<Alert>('alerts', method, params);
  return {
    list: (q) => store.list(q),
    get: (id) => store.get(id),
    changedSince: (seq, dongs, limit) => store.changedSince(seq, dongs, limit),
    lastSeq: () => store.lastSeq(),
    lastActivity: (id) => store.lastActivityOf(id),
    acknowledge: (id, by, note) => act('acknowledge', { id, by, ...(note === undefined ? {} : { note }) }),
    escalate: (id, by, note) => act('escalate', { id, by, note }),
    resolve: (id, by, outcome, note) => act('resolve', { id, by, outcome, ...(note === undefined ? {} : { note }) }),
    addNote: (id, by, note) => act('addNote', { id, by, note }),
  };
}
