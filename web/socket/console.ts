import { Server, type Namespace, type Socket } from 'socket.io';
import type { Server as HttpServer } from 'node:http';
import type { AlertsView } from '../../alerts/index.js';
import type { Bus } from '../../core/bus.js';
import { PlatformError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Staff } from '../../core/schemas/registry.js';
import type { Registry } from '../../registry/store.js';
import { alertActions, performAlertAction } from '../alert-actions.js';
import { SESSION_COOKIE } from '../auth.js';
import { scopeDongs } from '../scope.js';

const REPLAY_LIMIT = 5000;
// How often open sockets are checked against their session (logout elsewhere, expiry).
const SESSION_SWEEP_MS = 30_000;

interface ConsoleSocketData {
  staff: Staff;
  token: string;
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** One room per dong in the staff member's scope; `all` for admins and `["*"]` (the role decides the scope). */
const roomsOf = (staff: Staff): string[] => {
  const dongs = scopeDongs(staff);
  return dongs === null ? ['all'] : dongs.map((d) => `dong:${d}`);
};

/**
 * Closes the connection under the socket rather than sending a Socket.io disconnect: clients
 * then reconnect by themselves and authenticate afresh (a new scope, or "log in again").
 */
const dropConnection = (socket: Socket): void => socket.conn.close();

export interface ConsoleSocketDeps {
  registry: Registry;
  alerts: AlertsView;
  bus: Bus;
  log: Logger;
  metrics: Metrics;
  sessionSweepMs?: number;
}

/**
 * Socket.io `/console`: one room per dong (and `all` for admins); every alert
 * change goes to the rooms of its dong. A client sends the last `seq` it saw
 * in its handshake and first receives every change after it.
 */
export function attachConsoleSocket(server: HttpServer, deps: ConsoleSocketDeps): { close(): Promise<void> } {
  const { registry, alerts, bus, log, metrics } = deps;
  // A heartbeat every 10 s, given up after 10 s more: a console whose network died without a word
  // (Wi-Fi gone, no FIN) shows "disconnected" within 20 s instead of socket.io's default 45.
  const io = new Server(server, { serveClient: true, cors: { origin: false }, pingInterval: 10_000, pingTimeout: 10_000 });
  const nsp: Namespace = io.of('/console');

  nsp.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown };
    const token = typeof auth.token === 'string' ? auth.token : cookieToken(socket.handshake.headers.cookie);
    const staff = token ? registry.staffForSession(token) : undefined;
    if (!token || !staff) return next(new Error('unauthenticated'));
    Object.assign(socket.data as ConsoleSocketData, { staff, token });
    next();
  });

  nsp.on('connection', (socket: Socket) => {
    const { staff, token } = socket.data as ConsoleSocketData;
    metrics.consoleSockets.inc();
    socket.on('disconnect', () => metrics.consoleSockets.dec());
    // Join first, then replay: a change in between arrives twice, never zero times (clients keep the highest seq).
    void socket.join(roomsOf(staff));
    const lastSeq = Number((socket.handshake.auth as { lastSeq?: unknown }).lastSeq);
    let truncated = false;
    if (Number.isFinite(lastSeq) && lastSeq >= 0) {
      const missed = alerts.changedSince(lastSeq, scopeDongs(staff), REPLAY_LIMIT);
      truncated = missed.length === REPLAY_LIMIT; // the client should reload the whole list
      for (const alert of missed) socket.emit('alert', alert);
    }
    socket.emit('ready', {
      staff: { username: staff.username, displayName: staff.displayName, role: staff.role, dongs: staff.dongs },
      lastSeq: alerts.lastSeq(),
      truncated,
    });

    for (const action of alertActions) {
      socket.on(action, async (body: unknown, ack?: (reply: unknown) => void) => {
        const reply = typeof ack === 'function' ? ack : () => {};
        try {
          // The session is checked on every event, not only at connect: it may have ended since.
          const current = registry.staffForSession(token);
          if (!current) {
            reply({ ok: false, error: 'unauthenticated', message: 'log in first' });
            dropConnection(socket);
            return;
          }
          const { id, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as { id?: unknown };
          if (typeof id !== 'string') throw new PlatformError('bad_request', 'id: required', 'id');
          reply({ ok: true, alert: await performAlertAction(alerts, current, action, id, rest) });
        } catch (err) {
          if (err instanceof PlatformError) return reply({ ok: false, ...err.toJSON() });
          log.error({ err: (err as Error).message, action }, 'console action failed');
          reply({ ok: false, error: 'internal', message: 'internal error' });
        }
      });
    }
  });

  const unsubscribe = [
    bus.subscribe('alert', (alert) => {
      nsp.to('all').to(`dong:${alert.dong}`).emit('alert', alert);
    }),
    // New scope or password: the consoles reconnect, and join the rooms of the new scope (or must log in again).
    bus.subscribe('staff', (changed) => {
      for (const socket of nsp.sockets.values()) if ((socket.data as ConsoleSocketData).staff.id === changed.id) dropConnection(socket);
    }),
  ];
  const sweep = setInterval(() => {
    for (const socket of nsp.sockets.values()) {
      if (!registry.staffForSession((socket.data as ConsoleSocketData).token)) dropConnection(socket);
    }
  }, deps.sessionSweepMs ?? SESSION_SWEEP_MS);
  sweep.unref();

  return {
    async close() {
      clearInterval(sweep);
      for (const u of unsubscribe) u();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
