import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { PlatformError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import {
  levels,
  severityRank,
  type Alert,
  type AlertKind,
  type AlertLevel,
  type HistoryEntry,
  type Outcome,
  type Severity,
} from '../core/schemas/alert.js';
import type { DeviceStatus, Observation } from '../core/schemas/observation.js';
import type { Resident, VitalBand, VitalName } from '../core/schemas/registry.js';
import { isActivity, levelFields } from './rules/activity.js';
import { missedCheckin } from './rules/missed-checkin.js';
import { bandsFor } from './rules/vital-bands.js';
import { evaluateVitals } from './rules/vitals.js';
import type { AlertStore } from './store.js';

export interface EscalationTimeouts {
  criticalMs: number;
  warningMs: number;
}

export const defaultEscalation: EscalationTimeouts = { criticalMs: 10 * 60_000, warningMs: 60 * 60_000 };

interface ResidentState {
  id: string;
  dong: string;
  enabled: boolean;
  inactivityMs: number;
  bands: Record<VitalName, VitalBand>;
  lastActivityAt: number;
  missedFiredFor: number | null;
}

export interface AlertEngineDeps {
  store: AlertStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  escalation?: EscalationTimeouts;
}

const SYSTEM = 'system';
const alertKey = (residentId: string, kind: AlertKind, rule: string) => `${residentId}|${kind}|${rule}`;

/**
 * Owns alert state and deadlines; rules (./rules) decide, the store keeps,
 * the bus tells the console. Time comes only from the injected clock.
 */
export class AlertEngine {
  private readonly residents = new Map<string, ResidentState>();
  private readonly open = new Map<string, Alert>(); // unresolved alerts by (resident, kind, rule)
  private readonly lastLevelValue = new Map<string, number>(); // `${deviceId}|${type}` → last power/lux
  private readonly dirtyActivity = new Set<string>();
  private readonly escalation: EscalationTimeouts;

  constructor(private readonly deps: AlertEngineDeps, residents: readonly Resident[]) {
    this.escalation = deps.escalation ?? defaultEscalation;
    const activity = new Map(deps.store.loadActivity().map((a) => [a.residentId, a]));
    for (const r of residents) {
      const saved = activity.get(r.id);
      this.residents.set(r.id, {
        ...this.residentState(r),
        lastActivityAt: saved?.lastActivityAt ?? r.createdAt,
        missedFiredFor: saved?.missedFiredFor ?? null,
      });
    }
    for (const alert of deps.store.unresolved()) this.open.set(alertKey(alert.residentId, alert.kind, alert.rule), alert);
    deps.metrics.alertsOpen.set(this.open.size);
  }

  private residentState(r: Resident): Omit<ResidentState, 'lastActivityAt' | 'missedFiredFor'> {
    return { id: r.id, dong: r.dong, enabled: r.enabled, inactivityMs: r.inactivityHours * 3_600_000, bands: bandsFor(r.vitalBands) };
  }

  /** A resident created or changed in the registry; re-enabling starts a fresh window. */
  upsertResident(r: Resident): void {
    const current = this.residents.get(r.id);
    const now = this.deps.clock.now();
    const freshWindow = !current || (!current.enabled && r.enabled);
    this.residents.set(r.id, {
      ...this.residentState(r),
      lastActivityAt: freshWindow ? Math.max(now, r.createdAt) : current.lastActivityAt,
      missedFiredFor: freshWindow ? null : current.missedFiredFor,
    });
    if (freshWindow) this.dirtyActivity.add(r.id);
  }

  handleObservations(observations: readonly Observation[]): void {
    for (const o of observations) this.handleObservation(o);
  }

  private handleObservation(o: Observation): void {
    const resident = this.residents.get(o.residentId);
    if (!resident || !resident.enabled) return;
    const now = this.deps.clock.now();

    const levelKey = `${o.deviceId}|${o.type}`;
    const previous = this.lastLevelValue.get(levelKey);
    const levelField = levelFields[o.type];
    if (levelField) this.lastLevelValue.set(levelKey, o.fields[levelField] as number);
    if (isActivity(o, previous) && o.ts > resident.lastActivityAt) {
      resident.lastActivityAt = Math.min(o.ts, now);
      this.dirtyActivity.add(resident.id);
      this.recover(resident.id, 'missed_checkin', 'inactivity', now);
    }

    if (o.type === 'sos' || o.type === 'fall') {
      this.raise(resident, o.type, o.type, 'critical', o.type === 'fall' ? (o.fields.confidence as number | undefined) ?? null : null,
        o.type === 'sos' ? 'SOS button pressed' : 'fall detected', now);
      return;
    }
    for (const verdict of evaluateVitals(o, resident.bands)) {
      if (verdict.abnormal) this.raise(resident, 'abnormal_vital', verdict.vital, verdict.severity, verdict.value, verdict.reason, now);
      else this.recover(resident.id, 'abnormal_vital', verdict.vital, now);
    }
  }

  /** A device's status message or will: offline raises `device_offline` (info), online recovers it. */
  handleDeviceStatus(status: DeviceStatus): void {
    const resident = this.residents.get(status.residentId);
    if (!resident || !resident.enabled) return;
    const now = this.deps.clock.now();
    if (status.online) this.recover(resident.id, 'device_offline', status.deviceId, now);
    else this.raise(resident, 'device_offline', status.deviceId, 'info', status.battery ?? null, `device ${status.deviceId} went offline`, now);
  }

  /** Deadlines: missed check-ins and escalation timeouts. Called every ALERT_SCAN_MS. */
  scan(): void {
    const now = this.deps.clock.now();
    for (const r of this.residents.values()) {
      if (!r.enabled || r.missedFiredFor === r.lastActivityAt) continue;
      const verdict = missedCheckin({ lastActivityAt: r.lastActivityAt, inactivityMs: r.inactivityMs }, now);
      if (verdict.fire) {
        r.missedFiredFor = r.lastActivityAt;
        this.dirtyActivity.add(r.id);
        this.raise(r, 'missed_checkin', 'inactivity', 'warning', Math.round((now - r.lastActivityAt) / 60_000), verdict.reason, now);
      }
    }
    for (const alert of this.open.values()) {
      if (alert.status !== 'open' || alert.severity === 'info') continue;
      const timeout = alert.severity === 'critical' ? this.escalation.criticalMs : this.escalation.warningMs;
      const since = alert.levelChangedAt ?? alert.openedAt;
      const next = levels[levels.indexOf(alert.level) + 1];
      if (next && now - since >= timeout) {
        this.change(alert, { level: next, levelChangedAt: now }, { at: now, action: 'escalated', by: SYSTEM, note: `unacknowledged for ${Math.round((now - since) / 60_000)} min → ${next}` });
      }
    }
    this.flushActivity();
  }

  private flushActivity(): void {
    if (this.dirtyActivity.size === 0) return;
    const rows = [...this.dirtyActivity].flatMap((id) => {
      const r = this.residents.get(id);
      return r ? [{ residentId: id, lastActivityAt: r.lastActivityAt, missedFiredFor: r.missedFiredFor }] : [];
    });
    this.deps.store.saveActivity(rows);
    this.dirtyActivity.clear();
  }

  private raise(r: ResidentState, kind: AlertKind, rule: string, severity: Severity, value: number | string | null, reason: string, now: number): void {
    const existing = this.open.get(alertKey(r.id, kind, rule));
    if (existing) {
      const worse = severityRank[severity] > severityRank[existing.severity];
      const relapsed = existing.recoveredAt !== undefined;
      const patch: Partial<Alert> = { count: existing.count + 1, lastValue: value, lastSeenAt: now, reason };
      if (worse) patch.severity = severity;
      if (relapsed) patch.recoveredAt = undefined; // the problem is back: no longer "recovered"
      const entries: HistoryEntry[] = [];
      if (worse) entries.push({ at: now, action: 'severity_raised', by: SYSTEM, note: reason });
      else if (relapsed) entries.push({ at: now, action: 'repeated', by: SYSTEM, note: reason });
      if (worse && this.notifiesNurse(kind, severity) && !existing.history.some((h) => h.action === 'notified')) {
        entries.push({ at: now, action: 'notified', by: SYSTEM, note: 'nurse' });
      }
      // Plain repeats only count; a worse value or a relapse is news (no alert fatigue).
      this.change(existing, patch, ...entries);
      return;
    }
    const history: HistoryEntry[] = [{ at: now, action: 'opened', by: SYSTEM, note: reason }];
    if (this.notifiesNurse(kind, severity)) {
      history.push({ at: now, action: 'notified', by: SYSTEM, note: 'nurse' });
    }
    const alert: Omit<Alert, 'seq'> = {
      id: newId('a'), residentId: r.id, dong: r.dong, kind, rule, severity, status: 'open', level: 'dong',
      openedAt: now, lastSeenAt: now, levelChangedAt: now, count: 1, lastValue: value, reason, history,
    };
    this.commit(alert, 'opened');
  }

  /** CONTRACT §4: critical vitals, sos and fall reach the visiting nurse at once as well. */
  private notifiesNurse(kind: AlertKind, severity: Severity): boolean {
    return severity === 'critical' && (kind === 'abnormal_vital' || kind === 'sos' || kind === 'fall');
  }

  private recover(residentId: string, kind: AlertKind, rule: string, now: number): void {
    const alert = this.open.get(alertKey(residentId, kind, rule));
    if (!alert || alert.recoveredAt !== undefined) return;
    this.change(alert, { recoveredAt: now }, { at: now, action: 'recovered', by: SYSTEM });
  }

  private change(alert: Alert, patch: Partial<Alert>, ...entries: HistoryEntry[]): Alert {
    const next = { ...alert, ...patch, history: entries.length ? [...alert.history, ...entries] : alert.history };
    return this.commit(next, entries[0]?.action ?? 'repeated');
  }

  private commit(alert: Omit<Alert, 'seq'> | Alert, action: string): Alert {
    const stored = this.deps.store.save(alert); // durable before anyone hears of it
    const key = alertKey(stored.residentId, stored.kind, stored.rule);
    if (stored.status === 'resolved') this.open.delete(key);
    else this.open.set(key, stored);
    this.deps.metrics.alertChanges.inc({ kind: stored.kind, action });
    this.deps.metrics.alertsOpen.set(this.open.size);
    this.deps.bus.publish('alert', stored);
    return stored;
  }

  private mustGet(id: string): Alert {
    const alert = this.deps.store.get(id);
    if (!alert) throw new PlatformError('not_found', `no alert ${id}`);
    return alert;
  }

  acknowledge(id: string, by: string, note?: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status !== 'open') throw new PlatformError('conflict', `alert is ${alert.status}`);
    const now = this.deps.clock.now();
    return this.change(alert, { status: 'acknowledged', acknowledgedAt: now }, { at: now, action: 'acknowledged', by, ...(note ? { note } : {}) });
  }

  escalate(id: string, by: string, note: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status === 'resolved') throw new PlatformError('conflict', 'alert is resolved');
    const next: AlertLevel | undefined = levels[levels.indexOf(alert.level) + 1];
    if (!next) throw new PlatformError('conflict', 'alert is already at the public health centre');
    const now = this.deps.clock.now();
    return this.change(alert, { level: next, levelChangedAt: now }, { at: now, action: 'escalated', by, note });
  }

  resolve(id: string, by: string, outcome: Outcome, note?: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status === 'resolved') throw new PlatformError('conflict', 'alert is resolved already');
    const now = this.deps.clock.now();
    return this.change(alert, { status: 'resolved', resolvedAt: now, outcome }, { at: now, action: 'resolved', by, note: note ? `${outcome}: ${note}` : outcome });
  }

  addNote(id: string, by: string, note: string): Alert {
    const alert = this.mustGet(id);
    return this.change(alert, {}, { at: this.deps.clock.now(), action: 'note', by, note });
  }

  lastActivity(residentId: string): number | undefined {
    return this.residents.get(residentId)?.lastActivityAt;
  }

  close(): void {
    this.flushActivity();
  }
}
