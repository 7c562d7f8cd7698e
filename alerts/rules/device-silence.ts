export interface DeviceHeard {
  lastSeenAt: number;
  /** Silence counts from here (lastSeenAt unless the platform itself was down since, or the window was renewed). */
  silenceFrom: number;
  offlineAfterMs: number;
}

export type DeviceSilenceVerdict = { fire: false; deadline: number } | { fire: true; deadline: number; reason: string };

/** A device silent for its offline window (CONTRACT §6 `offlineAfterMinutes`). */
export function deviceSilence(deviceId: string, d: DeviceHeard, now: number): DeviceSilenceVerdict {
  const deadline = Math.max(d.lastSeenAt, d.silenceFrom) + d.offlineAfterMs;
  return now < deadline
    ? { fire: false, deadline }
    : { fire: true, deadline, reason: `device ${deviceId} silent for ${Math.round((now - d.lastSeenAt) / 60_000)} min (window ${Math.round(d.offlineAfterMs / 60_000)} min)` };
}
