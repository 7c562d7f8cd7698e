import type { Bus } from '../core/bus.js';
import type { Device } from '../core/schemas/registry.js';

/** What this process has heard from a device since it started. */
export interface DeviceSighting {
  /** From the device's last status message or will. */
  online?: boolean;
  battery?: number;
  statusAt?: number;
  /** When the platform last accepted a reading from it. */
  lastReadingAt?: number;
}

export type Connectivity = 'online' | 'offline' | 'unknown';

export interface DeviceStatusView {
  connectivity: Connectivity;
  battery: number | null;
  lastSeenAt: number | null;
}

/**
 * Online when its last word was "online" or a reading after it, and it was heard within its offline
 * window; offline on a will / `online: false` with nothing since, or silence past the window;
 * unknown when this process has heard nothing (the state is in memory: a restart forgets it).
 */
export function deviceStatusView(device: Pick<Device, 'offlineAfterMinutes'>, seen: DeviceSighting | undefined, now: number): DeviceStatusView {
  const heard = [seen?.statusAt, seen?.lastReadingAt].filter((t): t is number => t !== undefined);
  const battery = seen?.battery ?? null;
  if (!seen || heard.length === 0) return { connectivity: 'unknown', battery, lastSeenAt: null };
  const lastSeenAt = Math.max(...heard);
  const saidOffline = seen.online === false && (seen.statusAt ?? 0) >= (seen.lastReadingAt ?? 0);
  const silent = now - lastSeenAt > device.offlineAfterMinutes * 60_000;
  return { connectivity: saidOffline || silent ? 'offline' : 'online', battery, lastSeenAt };
}

export interface DeviceStatusTracker {
  get(deviceId: string): DeviceSighting | undefined;
  close(): void;
}

/**
 * Device status for the resident page, fed by the bus (`device-status`, and `observations` or, in a
 * split, `devices-heard`).
 * Kept in memory in the web service: nothing else keeps it queryable yet.
 */
export function trackDeviceStatus(bus: Bus): DeviceStatusTracker {
  const seen = new Map<string, DeviceSighting>();
  const entry = (id: string): DeviceSighting => {
    let s = seen.get(id);
    if (!s) seen.set(id, (s = {}));
    return s;
  };
  const heardAt = (deviceId: string, at: number) => {
    const s = entry(deviceId);
    if (at > (s.lastReadingAt ?? 0)) s.lastReadingAt = at;
  };
  const unsubscribe = [
    bus.subscribe('device-status', (status) => {
      const s = entry(status.deviceId);
      s.online = status.online;
      s.statusAt = status.at;
      if (status.battery !== undefined) s.battery = status.battery;
    }),
    // The ingest hot path: one map lookup per message, not per reading.
    bus.subscribe('observations', (messages) => {
      for (const m of messages) heardAt(m.deviceId, m.receivedAt);
    }),
    // The same in a split, where observations stay with the broker and alerts processes.
    bus.subscribe('devices-heard', (devices) => {
      for (const d of devices) heardAt(d.deviceId, d.at);
    }),
  ];
  return {
    get: (id) => seen.get(id),
    close: () => unsubscribe.forEach((u) => u()),
  };
}
