import cliProgress from 'cli-progress';
import { performance } from 'node:perf_hooks';
import type { RunStats } from './stats.js';

export interface ProgressOptions {
  /** Planned length of the run, for the bar. */
  totalMs: number;
  /** A terminal gets a live line; anything else a plain log line now and then. */
  tty: boolean;
  stream?: NodeJS.WritableStream;
  /** Between plain log lines [5 s]. */
  everyMs?: number;
}

/** Elapsed, homes, devices, messages, PUBACK rate, errors: live while a run lasts. */
export function startProgress(stats: RunStats, options: ProgressOptions): { stop(): void } {
  const stream = options.stream ?? process.stderr;
  let lastAcked = stats.acked;
  let lastAt = performance.now();
  let ackRate = 0;
  const fields = () => {
    const now = performance.now();
    if (now - lastAt >= 900) {
      ackRate = ((stats.acked - lastAcked) * 1000) / (now - lastAt);
      lastAcked = stats.acked;
      lastAt = now;
    }
    return {
      phase: stats.phase.padEnd(10),
      elapsed: stats.runSeconds(now).toFixed(1),
      homes: stats.homes,
      devices: `${stats.connected}/${stats.devices}`,
      sent: stats.sent,
      acked: stats.acked,
      ackRate: Math.round(ackRate),
      inFlight: stats.inFlight,
      errors: stats.errors,
    };
  };

  if (!options.tty) {
    const line = () => {
      const f = fields();
      stream.write(`[${f.elapsed} s] ${f.phase.trim()} | homes ${f.homes} | devices ${f.devices} | sent ${f.sent} | PUBACK ${f.acked} (${f.ackRate}/s, ${f.inFlight} in flight) | errors ${f.errors}\n`);
    };
    const timer = setInterval(line, options.everyMs ?? 5000);
    return { stop: () => clearInterval(timer) };
  }

  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{phase} {bar} {elapsed}/{totalSeconds} s | homes {homes} | devices {devices} | sent {sent} | PUBACK {acked} ({ackRate}/s) | errors {errors}',
      barsize: 20,
      hideCursor: true,
      fps: 4,
    },
    cliProgress.Presets.shades_classic,
  );
  const totalSeconds = Math.round(options.totalMs / 1000);
  bar.start(totalSeconds, 0, { ...fields(), totalSeconds });
  const timer = setInterval(() => {
    const f = fields();
    bar.update(Math.min(totalSeconds, Number(f.elapsed)), { ...f, totalSeconds });
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      bar.update(Math.min(totalSeconds, stats.runSeconds()), { ...fields(), totalSeconds });
      bar.stop();
    },
  };
}
