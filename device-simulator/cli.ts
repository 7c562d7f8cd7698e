import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Transport } from './connection.js';
import { loadFleet, scenarioFleet } from './fleet.js';
import { runLoad } from './load.js';
import { parseCli, usage, UsageError, type LoadModeOptions, type ScenarioModeOptions } from './options.js';
import { startProgress } from './progress.js';
import { formatSummary, runFailed, summarize, type Summary } from './report.js';
import { runHomes } from './run.js';
import { RunStats } from './stats.js';

// `npm run simulate -- [options]`: read the options, get the homes, run, summarise.
const log = (line: string) => process.stderr.write(`${line}\n`);
const abort = new AbortController();
let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (++interrupts > 1) process.exit(130);
    log('stopping: waiting for outstanding PUBACKs, then disconnecting (again to quit at once)');
    abort.abort();
  });
}

function transportOf(options: ScenarioModeOptions | LoadModeOptions): Transport {
  return { url: options.url, ...(options.ca ? { ca: readFileSync(options.ca) } : {}), ...(options.insecure ? { insecure: true } : {}) };
}

async function simulate(options: ScenarioModeOptions): Promise<Summary> {
  const { homes, provisionSeconds } = await scenarioFleet(options, log);
  const stats = new RunStats();
  const counts = new Map<string, number>();
  for (const home of homes) counts.set(home.scenario!, (counts.get(home.scenario!) ?? 0) + 1);
  const mix = [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
  // A plug reports ~150 times a simulated day; the broker's default device rate is 50/s (MQTT_DEVICE_RATE).
  if (options.speed > 20_000) log(`at ${options.speed}× a busy device sends ~${Math.round((150 * options.speed) / 86_400)} msg/s: above the broker's default per-device rate, expect rate_limited`);
  log(`playing ${homes.length} homes (${mix}) at ${options.speed}× for ${options.durationMs / 1000} s over ${options.url}`);
  const progress = startProgress(stats, { totalMs: options.durationMs, tty: process.stderr.isTTY === true });
  try {
    await runHomes(homes, {
      transport: transportOf(options), seed: options.seed, speed: options.speed, durationMs: options.durationMs,
      startMinute: options.startMinute, drainMs: options.drainMs, signal: abort.signal, stats,
    });
  } finally {
    progress.stop();
  }
  const start = `${String(Math.floor(options.startMinute / 60)).padStart(2, '0')}:${String(options.startMinute % 60).padStart(2, '0')}`;
  return summarize(stats, 'scenario', options.seed, {
    scenarios: mix, speed: `${options.speed}×`, 'homes\' day starts': start,
    replay: `--seed ${options.seed} --start-hour ${start}${options.homesFile ? '' : ' (with the same --homes and --scenario)'}`,
    ...(provisionSeconds === undefined ? {} : { provisioning: `${provisionSeconds} s` }),
  });
}

async function load(options: LoadModeOptions): Promise<Summary> {
  const { homes, devices, provisionSeconds } = await loadFleet(options, log);
  const stats = new RunStats();
  stats.homes = homes;
  log(`load: ${devices.length} devices, ${options.ratePerSecond} msg/s for ${options.durationMs / 1000} s over ${options.url}`);
  const progress = startProgress(stats, { totalMs: options.durationMs, tty: process.stderr.isTTY === true });
  let result;
  try {
    result = await runLoad(devices, { transport: transportOf(options), ratePerSecond: options.ratePerSecond, durationMs: options.durationMs, seed: options.seed, drainMs: options.drainMs, signal: abort.signal, stats });
  } finally {
    progress.stop();
  }
  return summarize(stats, 'load', options.seed, {
    'target rate': `${options.ratePerSecond}/s`,
    'sent rate': `${Math.round(stats.sent / Math.max(stats.runSeconds(), 0.001))}/s`,
    'behind the rate': result.behind,
    ...(provisionSeconds === undefined ? {} : { provisioning: `${provisionSeconds} s` }),
    connecting: `${result.connectSeconds.toFixed(2)} s`,
  });
}

try {
  const command = parseCli(process.argv.slice(2), { now: Date.now(), seed: randomInt(2 ** 31) });
  if (command.kind === 'help') {
    console.log(usage);
    process.exit(0);
  }
  const { options } = command;
  const summary = options.mode === 'load' ? await load(options) : await simulate(options);
  console.log(options.json ? JSON.stringify(summary) : formatSummary(summary));
  // PUBACKs lost means readings may be lost: fail loudly.
  process.exit(runFailed(summary) ? 1 : 0);
} catch (err) {
  if (err instanceof UsageError) {
    log(`${err.message}\n(npm run simulate -- --help lists the options)`);
    process.exit(2);
  }
  log(`simulate: ${(err as Error).message}`);
  process.exit(1);
}
