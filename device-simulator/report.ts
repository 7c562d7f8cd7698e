import type { RunStats } from './stats.js';

/** The end-of-run summary, printed by the CLI and returned to tests and benchmarks. */
export interface Summary {
  mode: 'scenario' | 'load';
  seed: number;
  homes: number;
  devices: number;
  connectFailures: number;
  /** Connections lost or closed by the platform that the plan did not ask for. */
  disconnects: number;
  runSeconds: number;
  sent: number;
  acked: number;
  /** Sent but never PUBACKed: readings a real device would still hold. */
  lost: number;
  publishErrors: number;
  refused: number;
  skipped: number;
  errorsReceived: Record<string, number>;
  ackedPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  details: Record<string, string | number>;
}

const ms = (x: number) => Number(x.toFixed(2));

export function summarize(stats: RunStats, mode: Summary['mode'], seed: number, details: Summary['details'] = {}): Summary {
  const runSeconds = stats.runSeconds();
  const h = stats.latency;
  return {
    mode,
    seed,
    homes: stats.homes,
    devices: stats.devices,
    connectFailures: stats.connectFailures,
    disconnects: stats.disconnects,
    runSeconds: Number(runSeconds.toFixed(2)),
    sent: stats.sent,
    acked: stats.acked,
    lost: stats.sent - stats.acked,
    publishErrors: stats.publishErrors,
    refused: stats.refused,
    skipped: stats.skipped,
    errorsReceived: { ...stats.errorsReceived },
    ackedPerSecond: Math.round(stats.ackRate()),
    latencyMs: { p50: ms(h.quantile(0.5)), p90: ms(h.quantile(0.9)), p99: ms(h.quantile(0.99)), p999: ms(h.quantile(0.999)), max: ms(h.max) },
    details,
  };
}

/** PUBACKs lost or devices that never connected: the run failed. */
export const runFailed = (s: Summary): boolean => s.lost > 0 || s.connectFailures > 0;

export function formatSummary(s: Summary): string {
  const errors = Object.entries(s.errorsReceived).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  const rows: [string, string | number][] = [
    ['mode', s.mode],
    ...Object.entries(s.details),
    ['seed', s.seed],
    ['homes / devices', `${s.homes} / ${s.devices}${s.connectFailures ? ` (${s.connectFailures} could not connect)` : ''}`],
    ['run', `${s.runSeconds} s`],
    ['sent', s.sent],
    ['PUBACKed', `${s.acked} (${s.ackedPerSecond}/s)`],
    ['lost (no PUBACK)', s.lost],
    ['latency publish→PUBACK', `p50 ${s.latencyMs.p50} ms, p90 ${s.latencyMs.p90} ms, p99 ${s.latencyMs.p99} ms, p99.9 ${s.latencyMs.p999} ms, max ${s.latencyMs.max} ms`],
    ['errors topic', errors],
    ['refused as planned', s.refused],
    ['unplanned disconnects', s.disconnects],
    ['not sent (device away)', s.skipped],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n${runFailed(s) ? 'FAILED' : 'OK'} — simulation summary`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}
