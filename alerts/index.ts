import { join } from 'node:path';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Alert, Outcome } from '../core/schemas/alert.js';
import type { Device, Resident } from '../core/schemas/registry.js';
import { AlertEngine, type DeviceDirectory, type EscalationTimeouts } from './engine.js';
import { openAlertStore, type AlertQuery } from './store.js';

export type { AlertQuery };

/** What the console and REST API may ask of the alerts service. */
export interface AlertsService {
  list(query: AlertQuery): { alerts: Alert[]; next: number | null };
  get(id: string): Alert | undefined;
  changedSince(seq: number, dongs: readonly string[] | null, limit: number): Alert[];
  /** The seq of the latest change of any alert. */
  lastSeq(): number;
  lastActivity(residentId: string): number | undefined;
  acknowledge(id: string, by: string, note?: string): Alert;
  escalate(id: string, by: string, note: string): Alert;
  resolve(id: string, by: string, outcome: Outcome, note?: string): Alert;
  addNote(id: string, by: string, note: string): Alert;
  /** Runs the deadline scan now (tests with a FakeClock). */
  scan(): void;
  /**
   * The replay cursor: the highest outbox id whose effects (alert changes and
   * the state later decisions need) are durable in alerts.db; 0 when none.
   * Ingest may forget outbox rows at or below it and replays the rows above it.
   */
  durableCursor(): number;
  /** The highest outbox id the engine has processed, durable or not (the split's observation feed continues from it). */
  processedThrough(): number;
  close(): Promise<void>;
}

/** The staff actions: in a split they travel to the alerts process and are answered asynchronously. */
type StaffAction = 'acknowledge' | 'escalate' | 'resolve' | 'addNote';

/** What the console asks of the alerts service (the embedded service itself, or alerts/remote.ts in a split). */
export type AlertsView = Pick<AlertsService, 'list' | 'get' | 'changedSince' | 'lastSeq' | 'lastActivity'> & {
  [K in StaffAction]: (...args: Parameters<AlertsService[K]>) => Alert | Promise<Alert>;
};

export interface AlertsDeps {
  dataDir: string;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  residents: Iterable<Resident>; // read once, at start
  /** Every registered device, for silence deadlines from the start (read through the registry's interface). */
  devices?: Iterable<Device>; // read once, at start
  /** Looks up a device the engine hears from for the first time (e.g. created after the start). */
  directory?: DeviceDirectory;
  scanIntervalMs: number; // 0 = no timer; the caller scans
  escalation?: EscalationTimeouts;
  /** Warning vitals alert only when repeated within this window; 0 or absent = off. */
  confirmWarningsMs?: number;
  /**
   * Deadline scans start once this settles, not at once: in a split, observations from before the
   * start are still on their way, and scanning first would raise missed check-ins that they answer.
   */
  firstScanAfter?: Promise<unknown>;
}

export function startAlerts(deps: AlertsDeps): AlertsService {
  const { bus, log, metrics } = deps;
  const store = openAlertStore(join(deps.dataDir, 'alerts.db'));
  const engine = new AlertEngine(
    {
      store, bus, clock: deps.clock, log, metrics, groupCommit: true,
      ...(deps.escalation ? { escalation: deps.escalation } : {}),
      ...(deps.confirmWarningsMs ? { confirmWarningsMs: deps.confirmWarningsMs } : {}),
      ...(deps.directory ? { directory: deps.directory } : {}),
    },
    deps.residents,
    deps.devices ?? [],
  );
  const unsubscribe = [
    bus.subscribe('observations', (messages) => engine.handleMessages(messages)),
    bus.subscribe('resident', (resident) => engine.upsertResident(resident)),
    bus.subscribe('device', (device) => engine.upsertDevice(device)),
    bus.subscribe('device-status', (status) => engine.handleDeviceStatus(status)),
  ];
  const scan = () => {
    const started = performance.now();
    try {
      engine.scan();
      metrics.alertScanSeconds.set((performance.now() - started) / 1000);
      // State and cursor of what was processed since the last scan: at most one interval behind.
      engine.flush();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'deadline scan failed');
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const startScanning = () => {
    if (closed) return;
    scan(); // deadlines that passed while the process was down fire on the first scan
    if (deps.scanIntervalMs > 0) timer = setInterval(scan, deps.scanIntervalMs);
  };
  if (deps.firstScanAfter) void deps.firstScanAfter.then(startScanning, startScanning);
  else startScanning();
  log.info({ ...engine.sizes(), lastSeq: store.lastSeq(), cursor: store.cursor(), ...engine.deadlineCounts() }, 'alerts started');

  return {
    list: (q) => store.list(q),
    get: (id) => store.get(id),
    changedSince: (seq, dongs, limit) => store.changedSince(seq, dongs, limit),
    lastSeq: () => store.lastSeq(),
    lastActivity: (id) => engine.lastActivity(id),
    acknowledge: (id, by, note) => engine.acknowledge(id, by, note),
    escalate: (id, by, note) => engine.escalate(id, by, note),
    resolve: (id, by, outcome, note) => engine.resolve(id, by, outcome, note),
    addNote: (id, by, note) => engine.addNote(id, by, note),
    scan,
    durableCursor: () => engine.durableCursor(),
    processedThrough: () => engine.processedThrough(),
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const u of unsubscribe) u();
      engine.close();
      store.close();
    },
  };
}
