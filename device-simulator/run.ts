import type { MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { mapConcurrent } from './concurrency.js';
import { closeClient, connectDevice, connected, dropConnection, errorsTopicOf, type Transport } from './connection.js';
import type { Home, SimDevice } from './homes.js';
import { planSequence, type PlanInput, type SimEvent } from './planner.js';
import { scenarioNamed } from './scenarios/index.js';
import { STATUS_TOPIC, topicOf } from './scenarios/types.js';
import type { SimClock } from './sim-clock.js';
import { countDeviceError, drainPubacks, RunStats, type DeviceError } from './stats.js';

export type { DeviceError };

export interface RunOptions {
  transport: Transport;
  seed: number;
  /** Simulated time runs this many times faster than real time. */
  speed: number;
  durationMs: number;
  /** Local time of day (minutes after midnight) at which the homes' day starts. */
  startMinute: number;
  signal?: AbortSignal;
  /** Pass one in to watch the run live (the progress line). */
  stats?: RunStats;
  /** How long to wait for outstanding PUBACKs after the last message [10 s]. */
  drainMs?: number;
}

/** What happened to one device, for checking a scenario's expectations. */
export interface DeviceReport {
  id: string;
  kind: SimDevice['kind'];
  /** Messages received on its errors topic, in order. */
  errors: DeviceError[];
  /** Times the platform closed its connection. */
  disconnects: number;
  /** The plan made it vanish (device_offline). */
  dropped: boolean;
  connectError?: string;
}

export interface RunResult {
  stats: RunStats;
  clock: SimClock;
  homes: { residentId: string; scenario: string; devices: DeviceReport[] }[];
}

// Plan 10 s of the run at a time, 2 s before it is due: a long run never holds all of itself.
const WINDOW_MS = 10_000;
const PLAN_AHEAD_MS = 2000;
const CONNECT_CONCURRENCY = 32;

interface Session {
  device: SimDevice;
  report: DeviceReport;
  client?: MqttClient;
  up: boolean;
  /** No more messages: dropped, refused with the connection closed, never connected. */
  gone: boolean;
  refusalPending: boolean;
  closing: boolean;
}

/**
 * Plays each home's scenario over real MQTT: every device on its own
 * connection with its own credentials, messages at their planned moments,
 * then waits for the outstanding PUBACKs and disconnects cleanly.
 */
export async function runHomes(homes: readonly Home[], options: RunOptions): Promise<RunResult> {
  const stats = options.stats ?? new RunStats();
  const scenarioOf = homes.map((home) => {
    if (!home.scenario) throw new Error(`home of ${home.residentId} has no scenario`);
    const scenario = scenarioNamed(home.scenario);
    const missing = scenario.devices.filter((kind) => !home.devices.some((d) => d.kind === kind));
    if (missing.length) throw new Error(`home of ${home.residentId} lacks ${missing.join(', ')} for scenario ${scenario.name}`);
    return scenario;
  });
  const sessions = homes.map((home) =>
    new Map(home.devices.map((device): [string, Session] => [
      device.kind,
      { device, report: { id: device.id, kind: device.kind, errors: [], disconnects: 0, dropped: false }, up: false, gone: false, refusalPending: false, closing: false },
    ])),
  );
  const allSessions = sessions.flatMap((m) => [...m.values()]);
  stats.homes = homes.length;
  stats.devices = allSessions.length;
  stats.phase = 'connecting';

  const open = (session: Session): Promise<void> => {
    const client = connectDevice(session.device, options.transport);
    session.client = client;
    client.on('error', () => {}); // refusals reach `connected` below; keeps mqtt.js from throwing an unhandled 'error'
    client.on('connect', () => {
      session.up = true;
      stats.connected++;
    });
    client.on('close', () => {
      if (!session.up) return;
      session.up = false;
      stats.connected--;
      if (session.closing || session.report.dropped) return;
      session.report.disconnects++;
      if (session.refusalPending) {
        session.refusalPending = false;
        stats.refused++;
      } else {
        stats.disconnects++;
      }
      if (client.options.reconnectPeriod === 0) session.gone = true;
    });
    client.on('message', (_topic, payload) => session.report.errors.push(countDeviceError(stats, payload)));
    client.subscribe(errorsTopicOf(session.device.id), { qos: 1 });
    return connected(client).catch((err: Error) => {
      session.report.connectError = err.message;
      session.gone = true;
      stats.connectFailures++;
      client.end(true);
    });
  };

  const later = new Set(homes.flatMap((_h, i) => (scenarioOf[i]!.connectLater ?? []).map((kind) => sessions[i]!.get(kind)!)));
  await mapConcurrent(allSessions.filter((s) => !later.has(s)), CONNECT_CONCURRENCY, open);

  const execute = (event: SimEvent) => {
    const session = sessions[event.home]!.get(event.device);
    if (!session) return;
    if (event.action === 'connect') {
      if (!session.client) void open(session);
      return;
    }
    const client = session.client;
    if (!client || session.gone) {
      if (event.action === 'publish') stats.skipped++;
      return;
    }
    if (event.action === 'drop') {
      session.report.dropped = true;
      session.gone = true;
      dropConnection(client);
      return;
    }
    const topic = topicOf(event.topic, session.device.id);
    if (event.refused) {
      // The platform closes the connection over this one: do not come back and repeat it.
      session.refusalPending = true;
      client.options.reconnectPeriod = 0;
      client.publish(topic, event.payload, { qos: 1 }, () => {});
      return;
    }
    stats.sent++;
    const sentAt = performance.now();
    client.publish(topic, event.payload, { qos: 1, retain: event.topic === STATUS_TOPIC }, (err) => {
      if (err) {
        stats.publishErrors++;
      } else {
        stats.ack(sentAt);
      }
    });
  };

  const clock: SimClock = { startTime: Date.now(), speed: options.speed, startMinute: options.startMinute };
  const input: PlanInput = { seed: options.seed, clock, durationMs: options.durationMs, homes: homes.map((h) => ({ scenario: h.scenario! })) };
  stats.phase = 'running';
  stats.runStartedAt = performance.now();
  await new Promise<void>((resolve) => {
    let queue: SimEvent[] = [];
    let next = 0;
    let plannedTo = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    const tick = () => {
      const elapsed = Date.now() - clock.startTime;
      while (plannedTo < options.durationMs && plannedTo - elapsed < PLAN_AHEAD_MS) {
        const to = Math.min(options.durationMs, plannedTo + WINDOW_MS);
        queue = queue.slice(next).concat(planSequence(input, { fromMs: plannedTo, toMs: to }));
        next = 0;
        plannedTo = to;
      }
      while (next < queue.length && queue[next]!.atMs <= elapsed) execute(queue[next++]!);
      if (elapsed >= options.durationMs) return finish();
      const planDue = plannedTo < options.durationMs ? plannedTo - PLAN_AHEAD_MS / 2 : Infinity;
      const due = Math.min(queue[next]?.atMs ?? options.durationMs, options.durationMs, planDue);
      timer = setTimeout(tick, Math.max(0, Math.min(1000, due - elapsed)));
    };
    if (options.signal?.aborted) return finish();
    options.signal?.addEventListener('abort', finish, { once: true });
    tick();
  });
  stats.runEndedAt = performance.now();

  await drainPubacks(stats, options.drainMs ?? 10_000);
  stats.phase = 'closing';
  await Promise.all(
    allSessions.map(async (session) => {
      session.closing = true;
      if (session.client) await closeClient(session.client);
    }),
  );
  stats.phase = 'done';

  return {
    stats,
    clock,
    homes: homes.map((home, i) => ({ residentId: home.residentId, scenario: home.scenario!, devices: [...sessions[i]!.values()].map((s) => s.report) })),
  };
}
