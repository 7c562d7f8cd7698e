import { describe, expect, it } from 'vitest';
import { createInProcessBus } from '../core/bus.js';
import type { ObservedMessage } from '../core/schemas/observation.js';
import { deviceStatusView, trackDeviceStatus } from './device-status.js';

const MIN = 60_000;
const band = { offlineAfterMinutes: 60 };

describe('device status view', () => {
  it('is unknown until the device was heard from', () => {
    expect(deviceStatusView(band, undefined, 0)).toEqual({ connectivity: 'unknown', battery: null, lastSeenAt: null });
  });

  it('is online after an online status or a reading within the offline window', () => {
    expect(deviceStatusView(band, { online: true, battery: 80, statusAt: 0 }, 59 * MIN)).toEqual({ connectivity: 'online', battery: 80, lastSeenAt: 0 });
    expect(deviceStatusView(band, { lastReadingAt: 10 * MIN }, 20 * MIN).connectivity).toBe('online');
  });

  it('is offline after its will, unless a reading came later, and after silence past its window', () => {
    expect(deviceStatusView(band, { online: false, statusAt: 5 * MIN, lastReadingAt: 4 * MIN }, 6 * MIN).connectivity).toBe('offline');
    expect(deviceStatusView(band, { online: false, statusAt: 5 * MIN, lastReadingAt: 7 * MIN }, 8 * MIN).connectivity).toBe('online');
    expect(deviceStatusView(band, { online: true, statusAt: 5 * MIN }, 66 * MIN).connectivity).toBe('offline');
  });
});

describe('device status tracker', () => {
  it('keeps the last status, battery and reading time per device from the bus', () => {
    const bus = createInProcessBus((_t, err) => {
      throw err;
    });
    const tracker = trackDeviceStatus(bus);
    bus.publish('device-status', { deviceId: 'd1', residentId: 'r1', dong: 'x', online: true, battery: 40, at: 100 });
    bus.publish('device-status', { deviceId: 'd1', residentId: 'r1', dong: 'x', online: false, at: 200 });
    const reading = (ts: number): ObservedMessage => ({ residentId: 'r1', deviceId: 'd1', dong: 'x', receivedAt: ts, readings: [{ type: 'spo2', ts, fields: { spo2: 97 } }] });
    bus.publish('observations', [reading(300), reading(250)]);
    expect(tracker.get('d1')).toEqual({ online: false, battery: 40, statusAt: 200, lastReadingAt: 300 });
    tracker.close();
    bus.publish('observations', [reading(400)]);
    expect(tracker.get('d1')!.lastReadingAt).toBe(300);
  });
});
