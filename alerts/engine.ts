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
  type AlertDetail,
  type AlertKind,
  type AlertLevel,
  type HistoryEntry,
  type News2Parameter,
  type Outcome,
  type Severity,
} from '../core/schemas/alert.js';
import type { DeviceStatus, Observation, ObservedMessage } from '../core/schemas/observation.js';
import type { ReadingType, ValidReading } from '../core/schemas/readings.js';
import type { Device, Resident, VitalBand, VitalName } from '../core/schemas/registry.js';
import { DeadlineIndex } from './deadlines.js';
import { DeviceTable, ScheduledColumn } from './device-table.js';
import { alertKey, OpenAlerts } from './open-alerts.js';
import { isActivity, levelFields } from './rules/activity.js';
import { deviceSilence } from './rules/device-silence.js';
import { feverWithAbnormalVital } from './rules/fever.js';
import { recordVital } from './rules/latest-vitals.js';
import { missedCheckin } from './rules/missed-checkin.js';
import { news2, NEWS2_MIN_PARAMETERS, news2Parameters, news2Ready } from './rules/news2.js';
import { recovery, recoveryByStreak, type RecoveryVerdict } from './rules/recovery.js';
import { bandsFor, FEVER_CRITICAL_WITH_OTHER_C, recoveryMargins, vitalUnits } from './rules/vital-bands.js';
import { classifyVital, vitalFields } from './rules/vitals.js';
import { rememberWeighing, WEIGHT_GAIN_KG, WEIGHT_WINDOW_MS, weightTrend } from './rules/weight-trend.js';
import type { AlertStore, DeviceStateRow, ResidentActivityRow, ResidentMemory } from './store.js';

export interface EscalationTimeouts {
  criticalMs: number;
  warningMs: number;
}

export const defaultEscalation: EscalationTimeouts = { criticalMs: 10 * 60_000, warningMs: 60 * 60_000 };

/** Where the engine looks up a device it hears from for the first time (the registry satisfies it). */
export interface DeviceDirectory {
  getDevice(id: string): Device | undefined;
}

interface ResidentState {
  id: string;
  dong: string;
  enabled: boolean;
  inactivityMs: number;
  bands: Record<VitalName, VitalBand>;
  spo2Scale2: boolean;
  lastActivityAt: number;
  missedFiredFor: number | null;
  memory: ResidentMemory | undefined; // allocated on first use: most residents never need it
  /** In `dirtyResidents` (a flag read per reading is cheaper than adding to the Set again). */
  dirty: boolean;
  /**
   * How many NEWS2 parameters the resident has ever sent: below NEWS2_MIN_PARAMETERS no
   * score can be computed, and most residents never reach it (checking per reading was ~3 %
   * of the platform's CPU in the gateway mix).
   */
  news2Measured: number;
}

export interface AlertEngineDeps {
  store: AlertStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  escalation?: EscalationTimeouts;
  /** A warning vital alerts only when repeated within this window; 0 or absent = at once. */
  confirmWarningsMs?: number;
  directory?: DeviceDirectory;
  /**
   * Commit the alert changes of observations once per event-loop turn
   * (setImmediate) instead of once per batch: one fsync for every message the
   * ingest group commit released together. Off in unit tests, which read the
   * store right after handing over an observation.
   */
  groupCommit?: boolean;
}

/** An alert as the engine holds it between a change and its commit (a new one has no seq yet). */
type Draft = Omit<Alert, 'seq'> & { seq?: number };

const SYSTEM = 'system';
/** An idle engine still records that it is alive this often, so a restart knows how long it was down. */
const ALIVE_EVERY_MS = 10_000;
/** Each vital a reading type carries, with what the engine asks of it per reading, worked out once. */
const vitalsOfType = Object.fromEntries(
  Object.entries(vitalFields).map(([type, fields]) => [
    type,
    fields!.map(([vital, field]) => ({ vital, field, news2: isNews2Parameter(vital), temperature: vital === 'temperature' })),
  ]),
) as Partial<Record<ReadingType, readonly { vital: VitalName; field: string; news2: boolean; temperature: boolean }[]>>;

/**
 * Owns alert state and deadlines; rules (./rules) decide, the store keeps,
 * the bus tells the console. Time comes only from the injected clock.
 *
 * Work happens in units (a batch of observations, a scan, a staff action):
 * every alert change of a unit, the resident and device state it touched and
 * the replay cursor are committed in one transaction, and only then published.
 */
export class AlertEngine {
  private readonly residents = new Map<string, ResidentState>();
  private readonly devices = new DeviceTable();
  private readonly open = new OpenAlerts<Draft>();
  private readonly missedIndex = new DeadlineIndex(); // residentId
  private readonly silenceIndex = new DeadlineIndex<number>(new ScheduledColumn(this.devices)); // device number
  private readonly escalationIndex = new DeadlineIndex(); // alertKey
  private readonly staged = new Map<string, Draft>(); // alert id → latest uncommitted version
  private readonly stagedActions: { kind: AlertKind; action: string }[] = [];
  private readonly dirtyResidents = new Set<string>();
  private readonly dirtyDevices = new Set<number>();
  private readonly escalation: EscalationTimeouts;
  private readonly confirmWarningsMs: number;
  private processedCursor: number; // highest outboxId processed, durable or not
  private aliveWrittenAt = -Infinity;
  private commitPending = false;
  /** After a failed commit the cursor stays where the store has it until a restart replays from there. */
  private cursorFrozen = false;

  constructor(private readonly deps: AlertEngineDeps, residents: Iterable<Resident>, devices: Iterable<Device> = []) {
    this.escalation = deps.escalation ?? defaultEscalation;
    this.confirmWarningsMs = deps.confirmWarningsMs ?? 0;
    this.processedCursor = deps.store.cursor();
    const now = deps.clock.now();

    // The registry first, then the saved state streamed onto it: an array and a Map of every saved row at
    // once held ~140 MB more after a restart than after a first start at the design point (bench/memory.ts).
    for (const r of residents) this.residents.set(r.id, residentState(r, r.createdAt, null, undefined));
    for (const saved of deps.store.loadActivity()) {
      const state = this.residents.get(saved.residentId);
      if (!state) continue;
      state.lastActivityAt = saved.lastActivityAt;
      state.missedFiredFor = saved.missedFiredFor;
      state.memory = saved.memory;
      state.news2Measured = news2MeasuredIn(saved.memory);
    }

    const table = this.devices;
    for (const d of devices) {
      // A device never heard of gets a full window from now, so a first start over many devices is not a storm.
      const i = table.add(d.id, d.residentId);
      table.enabled[i] = d.enabled ? 1 : 0;
      table.offlineAfterMs[i] = d.offlineAfterMinutes * 60_000;
      table.lastSeenAt[i] = d.createdAt;
      table.silenceFrom[i] = Math.max(d.createdAt, now);
      this.dirtyDevices.add(i);
    }
    // The platform's own downtime is no device's silence: a device cannot be heard while nobody listens, and
    // counting it would turn every restart after a long outage into one device_offline per device.
    const aliveAt = deps.store.aliveAt();
    const downtime = aliveAt === undefined ? 0 : Math.max(0, now - aliveAt);
    for (const saved of deps.store.loadDevices()) {
      let i = table.indexOf(saved.deviceId);
      if (i === undefined) {
        // Saved but not in the list given: as the directory knows it.
        const known = deps.directory?.getDevice(saved.deviceId);
        i = table.add(saved.deviceId, saved.residentId);
        table.enabled[i] = known?.enabled === false ? 0 : 1;
        table.offlineAfterMs[i] = known ? known.offlineAfterMinutes * 60_000 : NaN;
      }
      this.dirtyDevices.delete(i);
      table.lastSeenAt[i] = saved.lastSeenAt;
      // Written when the device is next touched, not all at once: after a second restart before that, a silent
      // device is only shifted by the later downtime (it alerts earlier, never later).
      table.silenceFrom[i] = Math.min(now, saved.silenceFrom + downtime);
      table.offlineFiredFor[i] = saved.offlineFiredFor ?? NaN;
      if (Object.keys(saved.levels).length > 0) table.levels.set(i, saved.levels);
    }

    for (const alert of deps.store.unresolved()) this.open.set(alert);
    for (const r of this.residents.values()) this.scheduleMissed(r);
    for (let i = 0; i < table.size; i++) this.scheduleSilence(i);
    for (const alert of this.open.values()) this.scheduleEscalation(alert);
    deps.metrics.alertsOpen.set(this.open.size);
  }

  /** How many residents and devices the engine watches (for the start-up log). */
  sizes(): { residents: number; devices: number } {
    return { residents: this.residents.size, devices: this.devices.size };
  }

  // ── inputs ────────────────────────────────────────────────────────────────

  /** A resident created or changed in the registry; re-enabling starts a fresh window. */
  upsertResident(r: Resident): void {
    const current = this.residents.get(r.id);
    const now = this.deps.clock.now();
    const freshWindow = !current || (!current.enabled && r.enabled);
    const state = freshWindow
      ? residentState(r, Math.max(now, r.createdAt), null, current?.memory)
      : residentState(r, current.lastActivityAt, current.missedFiredFor, current.memory);
    this.residents.set(r.id, state);
    this.markDirty(state);
    if (freshWindow && current) {
      const memory = (state.memory ??= {});
      memory.enabledSince = now;
      delete memory.pending;
      const table = this.devices;
      for (let i = 0; i < table.size; i++) {
        if (table.residentIds[i] !== r.id) continue;
        table.silenceFrom[i] = Math.max(table.silenceFrom[i]!, now);
        this.dirtyDevices.add(i);
        this.scheduleSilence(i);
      }
    }
    this.scheduleMissed(state);
    for (const alert of this.open.values()) if (alert.residentId === r.id) this.scheduleEscalation(alert);
    this.commitUnit(true);
  }

  /** A device created or changed in the registry (enabled, offline window); re-enabling starts a fresh window. */
  upsertDevice(device: Device): void {
    const now = this.deps.clock.now();
    const table = this.devices;
    const known = table.indexOf(device.id);
    const i = table.add(device.id, device.residentId);
    if (known === undefined) {
      table.lastSeenAt[i] = device.createdAt;
      table.silenceFrom[i] = Math.max(device.createdAt, now);
    } else if (!table.enabled[i] && device.enabled) {
      table.silenceFrom[i] = Math.max(table.silenceFrom[i]!, now);
    }
    table.enabled[i] = device.enabled ? 1 : 0;
    table.offlineAfterMs[i] = device.offlineAfterMinutes * 60_000;
    this.dirtyDevices.add(i);
    this.scheduleSilence(i);
    this.commitUnit(true);
  }

  /**
   * Accepted messages from the bus. A reading whose outbox id is at or below the
   * cursor was already processed before a restart (ingest replays what it
   * cannot prove durable here) and is skipped.
   */
  handleMessages(messages: readonly ObservedMessage[]): void {
    const now = this.deps.clock.now();
    for (const m of messages) this.observeMessage(m, now);
    if (!this.deps.groupCommit) {
      this.commitUnit(false);
    } else if (!this.commitPending && this.staged.size > 0) {
      this.commitPending = true;
      setImmediate(() => {
        this.commitPending = false;
        try {
          this.commitUnit(false);
        } catch (err) {
          // Nothing of it was stored, the cursor did not move: ingest replays these observations after a restart.
          this.deps.log.error({ err: (err as Error).message }, 'alert commit failed');
        }
      });
    }
  }

  /** Observations one by one, each a message of its own (tests and the alerts bench). */
  handleObservations(observations: readonly Observation[]): void {
    this.handleMessages(
      observations.map((o) => ({
        residentId: o.residentId, deviceId: o.deviceId, dong: o.dong, receivedAt: o.receivedAt, readings: [o],
        ...(o.outboxId === undefined ? {} : { firstOutboxId: o.outboxId }),
      })),
    );
  }

  /** A device's status message or will: offline raises `device_offline` (info), online recovers it. */
  handleDeviceStatus(status: DeviceStatus): void {
    const resident = this.residents.get(status.residentId);
    if (!resident || !resident.enabled) return;
    const now = this.deps.clock.now();
    const device = this.deviceFor(status.deviceId, resident.id, now);
    const table = this.devices;
    if (status.online) {
      this.heard(device, now);
      this.recover(resident.id, 'device_offline', status.deviceId, now);
    } else {
      table.offlineFiredFor[device] = table.lastSeenAt[device]!; // the silence deadline need not fire for this silence too
      this.dirtyDevices.add(device);
      const detail: AlertDetail = { type: 'device_offline', deviceId: status.deviceId, cause: 'will', lastSeenAt: table.lastSeenAt[device]!, ...(status.battery === undefined ? {} : { battery: status.battery }) };
      this.raise(resident, 'device_offline', status.deviceId, 'info', status.battery ?? null, `device ${status.deviceId} went offline`, detail, now);
    }
    this.commitUnit(false);
  }

  /** Deadlines that are due: missed check-ins, silent devices, escalation timeouts. Touches only due entries. */
  scan(): void {
    this.evaluateDeadlines();
    this.commitUnit(false);
  }

  /**
   * The in-memory half of a scan: takes the due entries of the deadline index
   * and stages what fired, without committing (benchmarks time the halves
   * apart; `flush` or the next unit commits). Returns the entries touched.
   */
  evaluateDeadlines(): number {
    const now = this.deps.clock.now();
    const missed = this.missedIndex.takeDue(now);
    for (const id of missed) this.checkMissed(id, now);
    const silent = this.silenceIndex.takeDue(now);
    for (const id of silent) this.checkSilence(id, now);
    const escalations = this.escalationIndex.takeDue(now);
    for (const key of escalations) this.checkEscalation(key, now);
    return missed.length + silent.length + escalations.length;
  }

  /** Makes the state and cursor of everything processed so far durable (the scan timer calls it). */
  flush(): void {
    this.commitUnit(true);
  }

  // ── observations ──────────────────────────────────────────────────────────

  /** The resident, the device and its silence once for the message, then each reading not yet processed. */
  private observeMessage(m: ObservedMessage, now: number): void {
    const first = m.firstOutboxId;
    // A replay may begin in the middle of a message: its earlier readings were processed before the restart.
    const from = first === undefined ? 0 : Math.max(0, this.processedCursor + 1 - first);
    if (from >= m.readings.length) return;
    let r = this.residents.get(m.residentId);
    let device = 0;
    try {
      if (r?.enabled) {
        device = this.deviceFor(m.deviceId, r.id, now);
        this.heard(device, Math.min(m.receivedAt, now));
        this.recover(r.id, 'device_offline', m.deviceId, now);
      }
    } catch (err) {
      this.evaluationFailed(err, m, from);
      r = undefined;
    }
    if (r?.enabled) {
      let active = false; // a reading of this message was a sign of life
      for (let k = from; k < m.readings.length; k++) {
        try {
          active = this.observe(r, device, m.readings[k]!, now, active);
        } catch (err) {
          this.evaluationFailed(err, m, k);
        }
      }
    }
    if (first !== undefined) this.processedCursor = Math.max(this.processedCursor, first + m.readings.length - 1);
  }

  /** One bad reading must not stop the rest, nor be retried for ever after a restart. */
  private evaluationFailed(err: unknown, m: ObservedMessage, k: number): void {
    const outboxId = m.firstOutboxId === undefined ? undefined : m.firstOutboxId + k;
    this.deps.log.error({ err: (err as Error).message, outboxId, type: m.readings[k]!.type }, 'observation evaluation failed');
  }

  /** One reading; returns whether this or an earlier reading of its message was a sign of life (`active`). */
  private observe(r: ResidentState, device: number, o: ValidReading, now: number, active: boolean): boolean {
    const levelField = levelFields[o.type];
    let previous: number | undefined;
    if (levelField) {
      let levels = this.devices.levels.get(device);
      if (!levels) this.devices.levels.set(device, (levels = {}));
      previous = levels[o.type];
      levels[o.type] = o.fields[levelField] as number;
    }
    if (isActivity(o, previous) && o.ts > r.lastActivityAt) {
      r.lastActivityAt = Math.min(o.ts, now);
      // Once a message: for a later sign of life of the same message the resident is marked already,
      // the missed check-in recovered and its deadline (an earlier one) kept.
      if (!active) {
        this.markDirty(r);
        this.scheduleMissed(r);
        this.recover(r.id, 'missed_checkin', 'inactivity', now);
        active = true;
      }
    }

    if (o.type === 'sos') {
      this.raise(r, 'sos', 'sos', 'critical', null, 'SOS button pressed', { type: 'sos' }, now);
      return active;
    }
    if (o.type === 'fall') {
      const confidence = o.fields.confidence as number | undefined;
      this.raise(r, 'fall', 'fall', 'critical', confidence ?? null, 'fall detected', { type: 'fall', ...(confidence === undefined ? {} : { confidence }) }, now);
      return active;
    }
    if (o.type === 'weight') {
      this.judgeWeight(r, { at: o.ts, kg: o.fields.kg as number }, now);
      return active;
    }

    // Indexed loops over the field table, no arrays of what was measured: the
    // engine was the platform's biggest allocator in the gateway mix.
    const vitals = vitalsOfType[o.type];
    if (!vitals) return active;
    let measured = false;
    let temperature = false;
    let news2Input = false;
    for (let i = 0; i < vitals.length; i++) {
      const vital = vitals[i]!;
      const value = o.fields[vital.field];
      if (typeof value !== 'number') continue;
      if (recordVital(((r.memory ??= {}).vitals ??= {}), vital.vital, value, o.ts) && vital.news2) r.news2Measured++;
      measured = true;
      if (vital.temperature) temperature = true;
      if (vital.news2) news2Input = true;
    }
    if (!measured) return active;
    this.markDirty(r);
    for (let i = 0; i < vitals.length; i++) {
      const value = o.fields[vitals[i]!.field];
      if (typeof value === 'number') this.judgeVital(r, vitals[i]!.vital, value, o.ts, now);
    }
    if (!temperature) this.judgeFeverFromOtherVital(r, now);
    if (news2Input && r.news2Measured >= NEWS2_MIN_PARAMETERS) this.judgeNews2(r, o.ts, now);
    return active;
  }

  private judgeVital(r: ResidentState, vital: VitalName, value: number, ts: number, now: number): void {
    const band = r.bands[vital];
    const verdict = classifyVital(vital, value, band);
    if (!verdict.abnormal) {
      if (this.openAfterNormal(r, vital)) this.judgeRecovery(r, vital, recovery(value, band, recoveryMargins[vital], this.normalStreak(r, vital)), now);
      return;
    }
    let { severity, reason } = verdict;
    let detail: AlertDetail = { type: 'vital', vital, value, unit: vitalUnits[vital], threshold: verdict.threshold, direction: verdict.direction };
    if (vital === 'temperature' && severity !== 'critical') {
      const fever = feverWithAbnormalVital(r.memory?.vitals ?? {}, r.bands);
      if (fever.fire && fever.at === ts) {
        severity = 'critical';
        reason = fever.reason;
        detail = { ...detail, threshold: FEVER_CRITICAL_WITH_OTHER_C, direction: 'high', with: fever.with };
      }
    }
    this.raiseVital(r, vital, severity, value, reason, detail, ts, now);
  }

  /** A fever measured earlier becomes critical when another vital turns abnormal beside it. */
  private judgeFeverFromOtherVital(r: ResidentState, now: number): void {
    const fever = feverWithAbnormalVital(r.memory?.vitals ?? {}, r.bands);
    if (!fever.fire) return;
    const detail: AlertDetail = {
      type: 'vital', vital: 'temperature', value: fever.value, unit: vitalUnits.temperature, threshold: FEVER_CRITICAL_WITH_OTHER_C, direction: 'high', with: fever.with,
    };
    const existing = this.open.get(r.id, 'abnormal_vital', 'temperature');
    if (existing && existing.recoveredAt === undefined) {
      if (existing.severity === 'critical') return;
      // New evidence about the same fever: more severe, not one more reading.
      this.change(existing, { severity: 'critical', reason: fever.reason, detail }, { at: now, action: 'severity_raised', by: SYSTEM, note: fever.reason }, ...this.nurseNotice(existing, 'abnormal_vital', 'critical', now));
      return;
    }
    if (existing) return; // recovered since: the fever is over, the other vital alerts on its own
    this.raise(r, 'abnormal_vital', 'temperature', 'critical', fever.value, fever.reason, detail, now);
  }

  private judgeNews2(r: ResidentState, ts: number, now: number): void {
    const vitals = r.memory?.vitals ?? {};
    if (!news2Ready(vitals)) return;
    const verdict = news2(vitals, r.spo2Scale2);
    if (!verdict.computed) return;
    if (verdict.severity === null) {
      if (this.openAfterNormal(r, 'news2')) this.judgeRecovery(r, 'news2', recoveryByStreak(this.normalStreak(r, 'news2'), `partial NEWS2 ${verdict.score}`), now);
      return;
    }
    const detail: AlertDetail = { type: 'news2', score: verdict.score, partial: true, parameters: verdict.parameters, missing: verdict.missing as News2Parameter[] };
    this.raiseVital(r, 'news2', verdict.severity, verdict.score, verdict.reason, detail, ts, now);
  }

  private judgeWeight(r: ResidentState, weighing: { at: number; kg: number }, now: number): void {
    const memory = (r.memory ??= {});
    const verdict = weightTrend(memory.weights ?? [], weighing);
    memory.weights = rememberWeighing(memory.weights ?? [], weighing);
    this.markDirty(r);
    if (verdict.fire) {
      const detail: AlertDetail = {
        type: 'weight_trend', gainKg: verdict.gainKg, fromKg: verdict.fromKg, toKg: verdict.toKg, fromAt: verdict.fromAt,
        windowHours: WEIGHT_WINDOW_MS / 3_600_000, thresholdKg: WEIGHT_GAIN_KG,
      };
      this.resetStreak(r, 'weight_trend');
      this.raise(r, 'abnormal_vital', 'weight_trend', 'warning', verdict.gainKg, verdict.reason, detail, now);
    } else if (verdict.gainKg !== null) {
      if (this.openAfterNormal(r, 'weight_trend')) {
        this.judgeRecovery(r, 'weight_trend', recoveryByStreak(this.normalStreak(r, 'weight_trend'), `gain ${verdict.gainKg} kg`), now);
      }
    }
  }

  /** An abnormal spot vital (or NEWS2): a warning may first need a repeat to confirm it. */
  private raiseVital(r: ResidentState, rule: string, severity: Severity, value: number, reason: string, detail: AlertDetail, ts: number, now: number): void {
    this.resetStreak(r, rule);
    if (severity === 'warning' && this.confirmWarningsMs > 0) {
      const existing = this.open.get(r.id, 'abnormal_vital', rule);
      if (!existing || existing.recoveredAt !== undefined) {
        const seen = r.memory?.pending?.[rule];
        if (seen === undefined || ts < seen || ts - seen > this.confirmWarningsMs) {
          ((r.memory ??= {}).pending ??= {})[rule] = ts;
          this.markDirty(r);
          return;
        }
        reason = `${reason} (confirmed by a repeat)`;
      }
    }
    this.clearPending(r, rule);
    this.raise(r, 'abnormal_vital', rule, severity, value, reason, detail, now);
  }

  /**
   * A normal value of a rule clears a pending confirmation; returns whether the
   * rule's alert is open and not yet recovered (then `judgeRecovery` decides).
   * Two steps, so the common case (nothing open) builds no recovery verdict.
   */
  private openAfterNormal(r: ResidentState, rule: string): boolean {
    this.clearPending(r, rule);
    const alert = this.open.get(r.id, 'abnormal_vital', rule);
    if (alert && alert.recoveredAt === undefined) return true;
    this.resetStreak(r, rule);
    return false;
  }

  private normalStreak(r: ResidentState, rule: string): number {
    return r.memory?.normalStreak?.[rule] ?? 0;
  }

  /** With hysteresis: recovers the rule's alert, or counts one more normal reading toward it. */
  private judgeRecovery(r: ResidentState, rule: string, verdict: RecoveryVerdict, now: number): void {
    if (verdict.recovered) {
      this.resetStreak(r, rule);
      this.recover(r.id, 'abnormal_vital', rule, now, verdict.reason);
    } else {
      ((r.memory ??= {}).normalStreak ??= {})[rule] = verdict.streak;
      this.markDirty(r);
    }
  }

  private markDirty(r: ResidentState): void {
    if (r.dirty) return;
    r.dirty = true;
    this.dirtyResidents.add(r.id);
  }

  private clearPending(r: ResidentState, rule: string): void {
    if (r.memory?.pending?.[rule] === undefined) return;
    delete r.memory.pending[rule];
    this.markDirty(r);
  }

  private resetStreak(r: ResidentState, rule: string): void {
    if (r.memory?.normalStreak?.[rule] === undefined) return;
    delete r.memory.normalStreak[rule];
    this.markDirty(r);
  }

  // ── devices ───────────────────────────────────────────────────────────────

  /** The device's number in the table; a device heard of for the first time is looked up in the directory. */
  private deviceFor(deviceId: string, residentId: string, now: number): number {
    const table = this.devices;
    let i = table.indexOf(deviceId);
    if (i === undefined) {
      const known = this.deps.directory?.getDevice(deviceId);
      i = table.add(deviceId, residentId);
      table.enabled[i] = known?.enabled === false ? 0 : 1;
      table.offlineAfterMs[i] = known ? known.offlineAfterMinutes * 60_000 : NaN;
      table.lastSeenAt[i] = now;
      table.silenceFrom[i] = now;
      this.dirtyDevices.add(i);
      this.scheduleSilence(i);
    }
    return i;
  }

  private heard(device: number, at: number): void {
    const table = this.devices;
    this.dirtyDevices.add(device); // levels may have changed too
    if (at <= table.lastSeenAt[device]!) return;
    table.lastSeenAt[device] = at;
    table.silenceFrom[device] = Math.max(table.silenceFrom[device]!, at);
    this.scheduleSilence(device);
  }

  // ── deadlines ─────────────────────────────────────────────────────────────

  private missedDue(r: ResidentState): number | undefined {
    return r.enabled && r.missedFiredFor !== r.lastActivityAt ? r.lastActivityAt + r.inactivityMs : undefined;
  }

  private scheduleMissed(r: ResidentState): void {
    const due = this.missedDue(r);
    if (due !== undefined) this.missedIndex.schedule(r.id, due);
  }

  private checkMissed(residentId: string, now: number): void {
    const r = this.residents.get(residentId);
    if (!r) return;
    const due = this.missedDue(r);
    if (due === undefined) return;
    const verdict = missedCheckin({ lastActivityAt: r.lastActivityAt, inactivityMs: r.inactivityMs }, now);
    if (!verdict.fire) {
      this.missedIndex.schedule(r.id, verdict.deadline); // there was activity since it was scheduled
      return;
    }
    r.missedFiredFor = r.lastActivityAt;
    this.markDirty(r);
    const silentMs = now - r.lastActivityAt;
    const detail: AlertDetail = { type: 'inactivity', lastActivityAt: r.lastActivityAt, silentMs, windowMs: r.inactivityMs };
    this.raise(r, 'missed_checkin', 'inactivity', 'warning', Math.round(silentMs / 60_000), verdict.reason, detail, now);
  }

  private silenceDue(i: number): number | undefined {
    const t = this.devices;
    const window = t.offlineAfterMs[i]!;
    if (!t.enabled[i] || Number.isNaN(window) || t.offlineFiredFor[i] === t.lastSeenAt[i]) return undefined;
    return this.residents.get(t.residentIds[i]!)?.enabled ? Math.max(t.lastSeenAt[i]!, t.silenceFrom[i]!) + window : undefined;
  }

  private scheduleSilence(i: number): void {
    const due = this.silenceDue(i);
    if (due !== undefined) this.silenceIndex.schedule(i, due);
  }

  private checkSilence(i: number, now: number): void {
    if (this.silenceDue(i) === undefined) return;
    const t = this.devices;
    const deviceId = t.ids[i]!;
    const lastSeenAt = t.lastSeenAt[i]!;
    const offlineAfterMs = t.offlineAfterMs[i]!;
    const verdict = deviceSilence(deviceId, { lastSeenAt, silenceFrom: t.silenceFrom[i]!, offlineAfterMs }, now);
    if (!verdict.fire) {
      this.silenceIndex.schedule(i, verdict.deadline);
      return;
    }
    t.offlineFiredFor[i] = lastSeenAt;
    this.dirtyDevices.add(i);
    const r = this.residents.get(t.residentIds[i]!)!;
    const existing = this.open.get(r.id, 'device_offline', deviceId);
    if (existing && existing.recoveredAt === undefined) return; // its will said so already
    const detail: AlertDetail = { type: 'device_offline', deviceId, cause: 'silence', lastSeenAt, offlineAfterMs };
    this.raise(r, 'device_offline', deviceId, 'info', Math.round((now - lastSeenAt) / 60_000), verdict.reason, detail, now);
  }

  private escalationTimeout(severity: Severity): number | undefined {
    return severity === 'critical' ? this.escalation.criticalMs : severity === 'warning' ? this.escalation.warningMs : undefined;
  }

  private escalationDue(alert: Draft): number | undefined {
    const timeout = this.escalationTimeout(alert.severity);
    if (alert.status !== 'open' || timeout === undefined || !levels[levels.indexOf(alert.level) + 1]) return undefined;
    const r = this.residents.get(alert.residentId);
    if (r && !r.enabled) return undefined; // alerts on disabled residents stop
    return Math.max(alert.levelChangedAt ?? alert.openedAt, r?.memory?.enabledSince ?? 0) + timeout;
  }

  private scheduleEscalation(alert: Draft): void {
    const due = this.escalationDue(alert);
    if (due !== undefined) this.escalationIndex.schedule(alertKey(alert.residentId, alert.kind, alert.rule), due);
  }

  private checkEscalation(key: string, now: number): void {
    const alert = this.open.getByKey(key);
    const due = alert && this.escalationDue(alert);
    if (!alert || due === undefined) return;
    if (due > now) {
      this.escalationIndex.schedule(key, due);
      return;
    }
    const since = due - this.escalationTimeout(alert.severity)!;
    const next = levels[levels.indexOf(alert.level) + 1]!;
    this.change(alert, { level: next, levelChangedAt: now }, { at: now, action: 'escalated', by: SYSTEM, note: `unacknowledged for ${Math.round((now - since) / 60_000)} min → ${next}` });
  }

  // ── alert changes ─────────────────────────────────────────────────────────

  private raise(r: ResidentState, kind: AlertKind, rule: string, severity: Severity, value: number | string | null, reason: string, detail: AlertDetail, now: number): void {
    const existing = this.open.get(r.id, kind, rule);
    if (existing) {
      const worse = severityRank[severity] > severityRank[existing.severity];
      const relapsed = existing.recoveredAt !== undefined;
      const patch: Partial<Draft> = { count: existing.count + 1, lastValue: value, lastSeenAt: now, reason, detail };
      if (worse) patch.severity = severity;
      const entries: HistoryEntry[] = [];
      if (worse) entries.push({ at: now, action: 'severity_raised', by: SYSTEM, note: reason });
      else if (relapsed) entries.push({ at: now, action: 'repeated', by: SYSTEM, note: reason });
      if (worse) entries.push(...this.nurseNotice(existing, kind, severity, now));
      // Plain repeats only count; a worse value or a relapse is news (no alert fatigue).
      const base = relapsed ? withoutRecovery(existing) : existing; // the problem is back: no longer "recovered"
      this.change(base, patch, ...entries);
      return;
    }
    const history: HistoryEntry[] = [{ at: now, action: 'opened', by: SYSTEM, note: reason }];
    if (this.notifiesNurse(kind, severity)) history.push({ at: now, action: 'notified', by: SYSTEM, note: 'nurse' });
    this.stage({
      id: newId('a'), residentId: r.id, dong: r.dong, kind, rule, severity, status: 'open', level: 'dong',
      openedAt: now, lastSeenAt: now, levelChangedAt: now, count: 1, lastValue: value, reason, detail, history,
    }, 'opened');
  }

  /** CONTRACT §4: critical vitals, sos and fall reach the visiting nurse at once as well. */
  private notifiesNurse(kind: AlertKind, severity: Severity): boolean {
    return severity === 'critical' && (kind === 'abnormal_vital' || kind === 'sos' || kind === 'fall');
  }

  private nurseNotice(alert: Draft, kind: AlertKind, severity: Severity, now: number): HistoryEntry[] {
    return this.notifiesNurse(kind, severity) && !alert.history.some((h) => h.action === 'notified')
      ? [{ at: now, action: 'notified', by: SYSTEM, note: 'nurse' }]
      : [];
  }

  private recover(residentId: string, kind: AlertKind, rule: string, now: number, note?: string): void {
    const alert = this.open.get(residentId, kind, rule);
    if (!alert || alert.recoveredAt !== undefined) return;
    this.change(alert, { recoveredAt: now }, { at: now, action: 'recovered', by: SYSTEM, ...(note ? { note } : {}) });
  }

  private change(alert: Draft, patch: Partial<Draft>, ...entries: HistoryEntry[]): void {
    const next = { ...alert, ...patch, history: entries.length ? [...alert.history, ...entries] : alert.history };
    this.stage(next, entries[0]?.action ?? 'repeated');
  }

  /** Holds a change until the unit commits; later rules of the same unit see it. */
  private stage(alert: Draft, action: string): void {
    if (alert.status === 'resolved') this.open.delete(alert);
    else this.open.set(alert);
    this.staged.set(alert.id, alert);
    this.stagedActions.push({ kind: alert.kind, action });
  }

  /**
   * Commits the unit: staged alert changes, touched state and the cursor in one
   * transaction (durable before anyone hears of it), then publishes. Without
   * alert changes it writes only when `withState` is set (the periodic flush).
   */
  private commitUnit(withState: boolean): Alert[] {
    const now = this.deps.clock.now();
    const cursorAdvanced = !this.cursorFrozen && this.processedCursor > this.deps.store.cursor();
    const stateToWrite = cursorAdvanced || this.dirtyResidents.size > 0 || this.dirtyDevices.size > 0 || now - this.aliveWrittenAt >= ALIVE_EVERY_MS;
    if (this.staged.size === 0 && !(withState && stateToWrite)) return [];
    const drafts = [...this.staged.values()];
    let stored: Alert[];
    try {
      stored = this.deps.store.commit({
        alerts: drafts,
        residents: [...this.dirtyResidents].flatMap((id) => this.residentRow(id)),
        devices: this.dirtyDeviceRows(),
        ...(cursorAdvanced ? { cursor: this.processedCursor } : {}),
        aliveAt: now,
      });
      this.aliveWrittenAt = now;
    } catch (err) {
      // Nothing of the unit is stored: forget its alert changes, so memory matches the store, and never
      // let a later commit's cursor claim the observations behind them (a replay may count some twice; none is lost).
      this.cursorFrozen = true;
      this.staged.clear();
      this.stagedActions.length = 0;
      this.open.clear();
      for (const alert of this.deps.store.unresolved()) this.open.set(alert);
      throw err;
    }
    this.staged.clear();
    for (const id of this.dirtyResidents) {
      const state = this.residents.get(id);
      if (state) state.dirty = false;
    }
    this.dirtyResidents.clear();
    this.dirtyDevices.clear();
    for (const { kind, action } of this.stagedActions.splice(0)) this.deps.metrics.alertChanges.inc({ kind, action });
    for (const alert of stored) {
      if (alert.status === 'resolved') {
        this.open.delete(alert);
      } else {
        this.open.set(alert);
        this.scheduleEscalation(alert);
      }
    }
    this.deps.metrics.alertsOpen.set(this.open.size);
    for (const alert of stored) this.deps.bus.publish('alert', alert);
    return stored;
  }

  /** Rows made one at a time as the store writes them (all 300,000 devices are dirty after a first start). */
  private *dirtyDeviceRows(): Generator<DeviceStateRow> {
    for (const i of this.dirtyDevices) yield this.deviceRow(i);
  }

  private residentRow(id: string): ResidentActivityRow[] {
    const r = this.residents.get(id);
    return r ? [{ residentId: id, lastActivityAt: r.lastActivityAt, missedFiredFor: r.missedFiredFor, ...(r.memory ? { memory: r.memory } : {}) }] : [];
  }

  private deviceRow(i: number): DeviceStateRow {
    const t = this.devices;
    const fired = t.offlineFiredFor[i]!;
    return {
      deviceId: t.ids[i]!, residentId: t.residentIds[i]!, lastSeenAt: t.lastSeenAt[i]!, silenceFrom: t.silenceFrom[i]!,
      offlineFiredFor: Number.isNaN(fired) ? null : fired, levels: t.levels.get(i) ?? {},
    };
  }

  // ── staff actions ─────────────────────────────────────────────────────────

  private mustGet(id: string): Alert {
    this.commitUnit(false); // changes still waiting for a group commit go first, so the store is current
    const alert = this.deps.store.get(id);
    if (!alert) throw new PlatformError('not_found', `no alert ${id}`);
    return alert;
  }

  private act(alert: Alert, patch: Partial<Draft>, entry: HistoryEntry): Alert {
    this.change(alert, patch, entry);
    return this.commitUnit(false).find((a) => a.id === alert.id)!;
  }

  acknowledge(id: string, by: string, note?: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status !== 'open') throw new PlatformError('conflict', `alert is ${alert.status}`);
    const now = this.deps.clock.now();
    return this.act(alert, { status: 'acknowledged', acknowledgedAt: now }, { at: now, action: 'acknowledged', by, ...(note ? { note } : {}) });
  }

  escalate(id: string, by: string, note: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status === 'resolved') throw new PlatformError('conflict', 'alert is resolved');
    const next: AlertLevel | undefined = levels[levels.indexOf(alert.level) + 1];
    if (!next) throw new PlatformError('conflict', 'alert is already at the public health centre');
    const now = this.deps.clock.now();
    return this.act(alert, { level: next, levelChangedAt: now }, { at: now, action: 'escalated', by, note });
  }

  resolve(id: string, by: string, outcome: Outcome, note?: string): Alert {
    const alert = this.mustGet(id);
    if (alert.status === 'resolved') throw new PlatformError('conflict', 'alert is resolved already');
    const now = this.deps.clock.now();
    return this.act(alert, { status: 'resolved', resolvedAt: now, outcome }, { at: now, action: 'resolved', by, note: note ? `${outcome}: ${note}` : outcome });
  }

  addNote(id: string, by: string, note: string): Alert {
    const alert = this.mustGet(id);
    return this.act(alert, {}, { at: this.deps.clock.now(), action: 'note', by, note });
  }

  // ── queries ───────────────────────────────────────────────────────────────

  lastActivity(residentId: string): number | undefined {
    return this.residents.get(residentId)?.lastActivityAt;
  }

  /** The highest outbox id processed, durable or not (the engine skips anything at or below it). */
  processedThrough(): number {
    return this.processedCursor;
  }

  /** The highest outbox id whose effects are durable in the store (0 when none). */
  durableCursor(): number {
    return this.deps.store.cursor();
  }

  /** Live deadlines, for metrics and benchmarks. */
  deadlineCounts(): { missed: number; silence: number; escalation: number } {
    return { missed: this.missedIndex.size, silence: this.silenceIndex.size, escalation: this.escalationIndex.size };
  }

  close(): void {
    this.flush();
  }
}

function residentState(r: Resident, lastActivityAt: number, missedFiredFor: number | null, memory: ResidentMemory | undefined): ResidentState {
  return {
    id: r.id,
    dong: r.dong,
    enabled: r.enabled,
    inactivityMs: r.inactivityHours * 3_600_000,
    bands: bandsFor(r.vitalBands),
    // A nurse lowers a resident's SpO2 band only for a clinician-set hypercapnic target: NEWS2 scale 2.
    spo2Scale2: (r.vitalBands?.spo2?.lowCritical ?? Infinity) < 92 || (r.vitalBands?.spo2?.lowWarning ?? Infinity) < 94,
    lastActivityAt,
    missedFiredFor,
    memory,
    dirty: false,
    news2Measured: news2MeasuredIn(memory),
  };
}

function news2MeasuredIn(memory: ResidentMemory | undefined): number {
  const vitals = memory?.vitals;
  return vitals ? news2Parameters.filter((p) => vitals[p] !== undefined).length : 0;
}

function isNews2Parameter(vital: VitalName): boolean {
  return (news2Parameters as readonly string[]).includes(vital);
}

function withoutRecovery(alert: Draft): Draft {
  const { recoveredAt: _recovered, ...rest } = alert;
  return rest;
}
