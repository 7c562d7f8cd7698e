export interface ResidentActivity {
  lastActivityAt: number;
  inactivityMs: number;
}

export type MissedCheckinVerdict = { fire: false; deadline: number } | { fire: true; deadline: number; reason: string };

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${hours.toFixed(1)} h` : `${Math.round(ms / 1000)} s`;
}

/** No activity for the resident's window: the deadline is the last activity plus the window. */
export function missedCheckin(r: ResidentActivity, now: number): MissedCheckinVerdict {
  const deadline = r.lastActivityAt + r.inactivityMs;
  return now < deadline ? { fire: false, deadline } : { fire: true, deadline, reason: `no activity for ${formatHours(now - r.lastActivityAt)}` };
}
