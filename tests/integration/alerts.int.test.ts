import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/schemas/alert.js';
import { startStack, waitFor, type Stack } from '../support/stack.js';

const DONG = '1111051500';
const OTHER_DONG = '1111053000';

/** A console client that records every `alert` event it is sent. */
interface ConsoleClient {
  socket: Socket;
  alerts: Alert[];
}

/** Issue 4, done when: an SOS over real MQTT reaches the console of the resident's dong and its nurse, nobody else. */
describe('alerts on the real stack', () => {
  let stack: Stack;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await stack?.close();
  });

  async function connect(token: string): Promise<ConsoleClient> {
    const socket = io(`${stack.httpUrl}/console`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const client: ConsoleClient = { socket, alerts: [] };
    let ready = false;
    socket.on('alert', (a: Alert) => client.alerts.push(a));
    socket.on('ready', () => (ready = true));
    await waitFor(() => ready, 10_000, 'the ready event');
    return client;
  }

  async function publish(device: { id: string; secret: string }, reading: object): Promise<void> {
    const client = await stack.connectDevice(device);
    try {
      await client.publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify(reading), { qos: 1 });
    } finally {
      await client.endAsync();
    }
  }

  const of = (client: ConsoleClient, residentId: string, kind: Alert['kind']) => client.alerts.filter((a) => a.residentId === residentId && a.kind === kind);

  it("delivers an SOS to the resident's dong staff and nurse, and to nobody of another dong", async () => {
    const resident = await stack.addResident({ dong: DONG });
    const other = await stack.addResident({ dong: OTHER_DONG });
    const button = await stack.addDevice(resident.id, 'button');
    const otherButton = await stack.addDevice(other.id, 'button');
    const staff = await connect((await stack.addStaff('alerts-staff', 'staff', [DONG])).token);
    const nurse = await connect((await stack.addStaff('alerts-nurse', 'nurse', [DONG])).token);
    const elsewhere = await connect((await stack.addStaff('alerts-elsewhere', 'staff', [OTHER_DONG])).token);

    await publish(button, { type: 'sos' });
    await waitFor(() => of(staff, resident.id, 'sos').length > 0 && of(nurse, resident.id, 'sos').length > 0, 10_000, 'the sos alert on both consoles');

    const alert = of(staff, resident.id, 'sos')[0]!;
    expect(alert).toMatchObject({ kind: 'sos', rule: 'sos', severity: 'critical', status: 'open', level: 'dong', dong: DONG, detail: { type: 'sos' } });
    expect(alert.history).toContainEqual(expect.objectContaining({ action: 'notified', note: 'nurse', by: 'system' }));
    expect(of(nurse, resident.id, 'sos')[0]).toEqual(alert);

    // A bounded grace without a sleep: once the other dong's own later alert has arrived there, ours would have too.
    await publish(otherButton, { type: 'sos' });
    await waitFor(() => of(elsewhere, other.id, 'sos').length > 0, 10_000, "the other dong's own sos alert");
    expect(elsewhere.alerts.filter((a) => a.dong !== OTHER_DONG)).toEqual([]);
    expect([...staff.alerts, ...nurse.alerts].filter((a) => a.dong !== DONG)).toEqual([]);
  });

  it('raises a critical vital from a reading over MQTT and tells the nurse at once, with the threshold as data', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const oximeter = await stack.addDevice(resident.id, 'pulse_oximeter');
    const nurse = await connect((await stack.addStaff('vitals-nurse', 'nurse', [DONG])).token);

    await publish(oximeter, { type: 'spo2', spo2: 88, pulse: 80 });
    await waitFor(() => of(nurse, resident.id, 'abnormal_vital').length > 0, 10_000, 'the SpO2 alert');
    const alert = of(nurse, resident.id, 'abnormal_vital')[0]!;
    expect(alert).toMatchObject({ rule: 'spo2', severity: 'critical', lastValue: 88 });
    expect(alert.detail).toEqual({ type: 'vital', vital: 'spo2', value: 88, unit: '%', threshold: 92, direction: 'low' });
    expect(alert.history.map((e) => e.action)).toEqual(['opened', 'notified']);
  });

  it('raises device_offline for a device registered while running that stays silent past its window', async () => {
    const resident = await stack.addResident({ dong: DONG });
    const { status, body } = await stack.api<{ id: string }>('/api/devices', {
      token: stack.adminToken, body: { residentId: resident.id, kind: 'motion_sensor', offlineAfterMinutes: 0.05 },
    });
    expect(status).toBe(201);
    const alert = await stack.waitForAlert((a) => a.residentId === resident.id && a.kind === 'device_offline', 'device_offline', { timeoutMs: 20_000 });
    expect(alert).toMatchObject({ rule: body.id, severity: 'info', level: 'dong', detail: { type: 'device_offline', deviceId: body.id, cause: 'silence' } });
  });
});

describe('alerts across a restart of the real stack', () => {
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.close();
  });

  it('keeps the alert, its history and seq, and escalates it on after the restart', async () => {
    stack = await startStack({ ALERT_ESCALATE_CRITICAL_MIN: '0.05' }); // 3 s per level
    const resident = await stack.addResident({ dong: DONG });
    const button = await stack.addDevice(resident.id, 'button');
    const client = await stack.connectDevice(button);
    await client.publishAsync(`dh/v1/devices/${button.id}/readings`, JSON.stringify({ type: 'sos' }), { qos: 1 });
    await client.endAsync();
    const before = await stack.waitForAlert((a) => a.residentId === resident.id && a.kind === 'sos', 'the sos alert');
    const noted = await stack.api<Alert>(`/api/alerts/${before!.id}/note`, { token: stack.adminToken, body: { note: '전화 안 받음' } });
    expect(noted.status).toBe(200);
    const dataDir = stack.dataDir;
    await stack.stop();

    stack = await startStack({ ALERT_ESCALATE_CRITICAL_MIN: '0.05' }, dataDir);
    let after: Alert | undefined;
    await waitFor(async () => {
      after = (await stack!.api<Alert>(`/api/alerts/${before!.id}`, { token: stack!.adminToken })).body;
      return after?.level === 'health_center';
    }, 20_000, 'the escalation to the health centre');
    expect(after!.history.map((e) => e.action)).toEqual(['opened', 'notified', 'note', 'escalated', 'escalated']);
    expect(after!.history[2]).toMatchObject({ by: 'admin', note: '전화 안 받음' });
    expect(after!.seq).toBeGreaterThan(noted.body.seq);
  });
});
