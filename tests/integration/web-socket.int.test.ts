import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG_A = '1111051500';
const DONG_B = '1111053000';

type Ack = { ok: boolean; alert?: Alert; error?: string; message?: string; field?: string };

/** A console client that records every `alert` event and `ready`. */
interface ConsoleClient {
  socket: Socket;
  alerts: Alert[];
  ready: { lastSeq: number; truncated: boolean; alertsBefore: number }[];
  emit(event: string, body: unknown): Promise<Ack>;
}

/** Socket.io `/console` (CONTRACT §5): scope, replay after a reconnect, actions with acknowledgements. */
describe('the console socket', () => {
  let stack: Stack;
  let residentA: { id: string; dong: string };
  let residentB: { id: string; dong: string };
  let buttonA: { id: string; secret: string };
  let buttonB: { id: string; secret: string };
  let staffA: { username: string; password: string; token: string };
  let staffB: { username: string; password: string; token: string };
  const clients: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack();
    residentA = await stack.addResident({ dong: DONG_A, displayName: '김영자' });
    residentB = await stack.addResident({ dong: DONG_B, displayName: '박순자' });
    buttonA = await stack.addDevice(residentA.id, 'button');
    buttonB = await stack.addDevice(residentB.id, 'button');
    staffA = await stack.addStaff('staff-a', 'staff', [DONG_A]);
    staffB = await stack.addStaff('staff-b', 'staff', [DONG_B]);
  });
  afterEach(() => {
    for (const s of clients.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function connect(token: string, lastSeq?: number): Promise<ConsoleClient> {
    const client: ConsoleClient = {
      socket: io(`${stack.httpUrl}/console`, {
        auth: lastSeq === undefined ? { token } : { token, lastSeq }, transports: ['websocket'], reconnection: false, forceNew: true,
      }),
      alerts: [],
      ready: [],
      emit: (event, body) => client.socket.timeout(5000).emitWithAck(event, body) as Promise<Ack>,
    };
    clients.push(client.socket);
    client.socket.on('alert', (a: Alert) => client.alerts.push(a));
    client.socket.on('ready', (r: { lastSeq: number; truncated: boolean }) => client.ready.push({ ...r, alertsBefore: client.alerts.length }));
    await waitFor(() => client.ready.length > 0, 5000, 'the ready event');
    return client;
  }

  /** Presses a resident's SOS button and resolves the alert it raised (found over REST). */
  async function pressSos(button: { id: string; secret: string }): Promise<Alert> {
    const before = new Set((await stack.alerts(stack.adminToken, '?limit=1000')).map((a) => a.id));
    const device = await stack.connectDevice(button);
    await device.publishAsync(`dh/v1/devices/${button.id}/readings`, JSON.stringify({ type: 'sos' }), { qos: 1 });
    await device.endAsync();
    return stack.waitForAlert((a) => a.kind === 'sos' && !before.has(a.id) && a.status === 'open', 'the sos alert');
  }

  async function resolveAll(): Promise<void> {
    for (const a of await stack.alerts(stack.adminToken, '?limit=1000')) {
      await stack.api(`/api/alerts/${a.id}/resolve`, { body: { outcome: 'false_alarm' }, token: stack.adminToken });
    }
  }

  it('refuses a handshake without a valid session', async () => {
    const socket = io(`${stack.httpUrl}/console`, { auth: { token: 'nope' }, transports: ['websocket'], reconnection: false, forceNew: true });
    clients.push(socket);
    const error = await new Promise<Error>((resolve) => socket.on('connect_error', resolve));
    expect(error.message).toBe('unauthenticated');
  });

  it('sends an alert to the consoles of its dong and never to another dong\'s', async () => {
    const a = await connect(staffA.token);
    const b = await connect(staffB.token);
    const admin = await connect(stack.adminToken);
    const alertA = await pressSos(buttonA);
    await waitFor(() => a.alerts.some((x) => x.id === alertA.id), 5000, 'dong A staff to get the alert');
    await waitFor(() => admin.alerts.some((x) => x.id === alertA.id), 5000, 'the admin to get the alert');
    // A marker in dong B: events reach one socket in order, so had B been sent A's alert it would be here by now.
    const alertB = await pressSos(buttonB);
    await waitFor(() => b.alerts.some((x) => x.id === alertB.id), 5000, 'dong B staff to get their own alert');
    expect(b.alerts.filter((x) => x.dong !== DONG_B)).toEqual([]);
    expect(a.alerts.filter((x) => x.dong !== DONG_A)).toEqual([]);
    expect(a.alerts.find((x) => x.id === alertA.id)).toMatchObject({ seq: expect.any(Number), residentId: residentA.id, status: 'open' });
    await resolveAll();
  });

  it('replays every change a reconnecting client missed in its dongs, in seq order, before ready', async () => {
    await resolveAll();
    const first = await connect(staffA.token);
    const cursor = first.ready[0]!.lastSeq;
    first.socket.disconnect();

    const one = await pressSos(buttonA);
    const acked = await stack.api<Alert>(`/api/alerts/${one.id}/ack`, { body: {}, token: staffA.token });
    const other = await pressSos(buttonB);
    const fallDevice = await stack.addDevice(residentA.id, 'smart_band');
    const band = await stack.connectDevice(fallDevice);
    await band.publishAsync(`dh/v1/devices/${fallDevice.id}/readings`, JSON.stringify({ type: 'fall', confidence: 0.9 }), { qos: 1 });
    await band.endAsync();
    const fall = await stack.waitForAlert((a) => a.kind === 'fall', 'the fall alert', { token: staffA.token });

    const again = await connect(staffA.token, cursor);
    expect(again.ready[0]!.alertsBefore).toBe(again.alerts.length);
    const replayedIds = again.alerts.map((a) => a.id);
    expect(replayedIds).toContain(one.id);
    expect(replayedIds).toContain(fall.id);
    expect(replayedIds).not.toContain(other.id);
    const seqs = again.alerts.map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(seqs.every((s) => s > cursor)).toBe(true);
    const newestOfOne = again.alerts.filter((a) => a.id === one.id).at(-1)!;
    expect(newestOfOne).toMatchObject({ status: 'acknowledged', seq: acked.body.seq });
    expect(again.ready[0]!.lastSeq).toBeGreaterThanOrEqual(fall!.seq);
    await resolveAll();
  });

  it('acts over the socket with acknowledgement callbacks, within scope only', async () => {
    const a = await connect(staffA.token);
    const b = await connect(staffB.token);
    const alert = await pressSos(buttonA);

    expect(await b.emit('ack', { id: alert.id })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await a.emit('escalate', { id: alert.id })).toMatchObject({ ok: false, error: 'bad_request', field: 'note' });
    expect(await a.emit('ack', {})).toMatchObject({ ok: false, error: 'bad_request' });
    const acked = await a.emit('ack', { id: alert.id, note: '확인' });
    expect(acked).toMatchObject({ ok: true, alert: { id: alert.id, status: 'acknowledged' } });
    expect(await a.emit('ack', { id: alert.id })).toMatchObject({ ok: false, error: 'conflict' });
    expect(await a.emit('note', { id: alert.id, note: '전화 시도 — 응답 없음' })).toMatchObject({ ok: true });
    expect(await a.emit('escalate', { id: alert.id, note: '방문 요청' })).toMatchObject({ ok: true, alert: { level: 'nurse' } });
    const resolved = await a.emit('resolve', { id: alert.id, outcome: 'visited' });
    expect(resolved).toMatchObject({ ok: true, alert: { status: 'resolved', outcome: 'visited' } });
    // Each change was also pushed to the dong's consoles, the acting one included.
    await waitFor(() => a.alerts.some((x) => x.id === alert.id && x.status === 'resolved'), 5000, 'the resolved alert event');
    expect(b.alerts.some((x) => x.id === alert.id)).toBe(false);
  });

  it('refuses actions once the session has ended, and drops the socket', async () => {
    const token = await stack.login(staffA.username, staffA.password);
    const client = await connect(token);
    const alert = await pressSos(buttonA);
    await stack.api('/api/logout', { body: {}, token });
    expect(await client.emit('ack', { id: alert.id })).toMatchObject({ ok: false, error: 'unauthenticated' });
    await waitFor(() => client.socket.disconnected, 5000, 'the socket to be dropped');
    expect((await stack.alerts(staffA.token)).find((a) => a.id === alert.id)!.status).toBe('open');
    await resolveAll();
  });

  it('moves a staff member\'s console to their new dongs when an admin changes them', async () => {
    const mover = await stack.addStaff('mover', 'staff', [DONG_B]);
    const socket = io(`${stack.httpUrl}/console`, { auth: { token: mover.token }, transports: ['websocket'], forceNew: true, reconnectionDelay: 100 });
    clients.push(socket);
    const seen: Alert[] = [];
    let connects = 0;
    socket.on('alert', (a: Alert) => seen.push(a));
    socket.on('ready', () => connects++);
    await waitFor(() => connects === 1, 5000, 'the first connection');

    await stack.api('/api/staff/mover', { method: 'PATCH', body: { dongs: [DONG_A] }, token: stack.adminToken });
    await waitFor(() => connects === 2, 10_000, 'the console to reconnect with its new scope');
    const alert = await pressSos(buttonA);
    await waitFor(() => seen.some((a) => a.id === alert.id), 5000, 'an alert of the new dong');
    await resolveAll();
  });
});
