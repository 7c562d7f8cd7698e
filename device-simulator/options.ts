import { parseArgs } from 'node:util';
import { scenarioNames, scenarios } from './scenarios/index.js';
import { seoulMinuteOfDay } from './sim-clock.js';

export class UsageError extends Error {}

/** A scenario and its share of the homes (a percentage or any weight); no weight: cycle through the list. */
export interface ScenarioShare {
  name: string;
  weight?: number;
}

interface CommonOptions {
  api: string;
  url: string;
  ca?: string;
  insecure: boolean;
  adminUser: string;
  dong: string;
  homesFile?: string;
  saveHomes?: string;
  seed: number;
  durationMs: number;
  drainMs: number;
  json: boolean;
}

export interface ScenarioModeOptions extends CommonOptions {
  mode: 'scenario';
  /** Undefined: 10, or every home of the homes file. */
  homes?: number;
  mix: ScenarioShare[];
  speed: number;
  startMinute: number;
  /** Overrides the short inactivity window of `silent` homes. */
  silentWindowSeconds?: number;
}

export interface LoadModeOptions extends CommonOptions {
  mode: 'load';
  devices: number;
  ratePerSecond: number;
}

export type CliCommand = { kind: 'help' } | { kind: 'run'; options: ScenarioModeOptions | LoadModeOptions };

export const usage = `npm run simulate -- [options]

Simulated homes over real MQTT, each device with its own credentials.

  --url URL            broker: mqtt://, mqtts://, ws://, wss:// [mqtt://127.0.0.1:1883]
  --ca FILE            CA certificate (PEM) for mqtts:// and wss://
  --insecure           accept any broker certificate (self-signed test brokers)
  --api URL            platform HTTP URL, for provisioning [http://127.0.0.1:8080]
  --admin-user NAME    admin username [admin]; the password comes from ADMIN_PASSWORD
  --dong CODE          dong of new homes [1111051500; sim-load in load mode]
  --homes-file PATH    play the homes saved in PATH instead of provisioning new ones
  --save-homes PATH    save the provisioned homes, with device secrets, to PATH (mode 0600)
  --duration TIME      how long to run: 90, 90s, 5m, 1h [60 s; 10 s in load mode]
  --seed N             same seed, same homes and message sequence [random, printed]
  --drain TIME         how long to wait for outstanding PUBACKs at the end [10 s; 30 s in load mode]
  --json               print the summary as JSON

Scenario mode (default):
  --homes N            number of homes [10]
  --scenario SPEC      a list cycled over the homes (normal,sos) or shares in percent
                       (normal:80,silent:10,sos:10) [normal]
  --speed X            simulated time runs X times faster than real time [60]
  --start-hour H[:MM]  the homes' local time of day at the start [now, in Seoul]
  --silent-window S    inactivity window of silent homes, seconds [36]

Load mode:
  --load               fixed-rate QoS 1 readings from many devices; reports PUBACK latency
  --devices N          devices, each on its own connection [100]
  --rate R             messages per second over all devices, e.g. 5000 or 5000/s [500]

Scenarios:
${scenarioNames.map((n) => `  ${n.padEnd(20)} ${scenarios[n]!.summary}`).join('\n')}

Exit code 1 when PUBACKs were lost or devices could not connect, 2 on bad options.`;

const positiveInt = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive whole number, not ${JSON.stringify(text)}`);
  return n;
};
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, not ${JSON.stringify(text)}`);
  return n;
};

/** `90`, `90s`, `5m`, `1.5h` → milliseconds. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--${name} must look like 90, 90s, 5m or 1h, not ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new UsageError(`--${name} must be above zero`);
  return ms;
}

/** `normal,sos` or `normal:80,silent:10,sos:10`. */
export function parseScenarioMix(spec: string): ScenarioShare[] {
  const shares = spec.split(',').map((part) => part.trim()).filter(Boolean).map((part): ScenarioShare => {
    const [name, weight, extra] = part.split(':');
    if (extra !== undefined || !name) throw new UsageError(`--scenario: cannot read ${JSON.stringify(part)}`);
    if (!scenarios[name]) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${scenarioNames.join(', ')}`);
    return weight === undefined ? { name } : { name, weight: positive('scenario', weight) };
  });
  if (shares.length === 0) throw new UsageError('--scenario names no scenario');
  const weighted = shares.filter((s) => s.weight !== undefined).length;
  if (weighted !== 0 && weighted !== shares.length) throw new UsageError('--scenario: give every scenario a share, or none');
  return shares;
}

/**
 * The scenario of each of `count` homes. A plain list is cycled; shares are
 * turned into counts by largest remainder and spread evenly over the homes
 * (smooth weighted round robin), so a small run still gets its rare scenarios.
 */
export function assignScenarios(mix: readonly ScenarioShare[], count: number): string[] {
  if (mix.every((s) => s.weight === undefined)) return Array.from({ length: count }, (_, i) => mix[i % mix.length]!.name);
  const total = mix.reduce((sum, s) => sum + s.weight!, 0);
  const exact = mix.map((s) => (s.weight! / total) * count);
  const counts = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < count; k++) counts[byRemainder[k]![1]]!++;
  const current = counts.map(() => 0);
  return Array.from({ length: count }, () => {
    counts.forEach((c, i) => (current[i]! += c));
    const chosen = current.indexOf(Math.max(...current));
    current[chosen]! -= count;
    return mix[chosen]!.name;
  });
}

/** `7`, `07:30` or `now` → minutes after midnight. */
function parseStartHour(text: string, now: number): number {
  if (text === 'now') return seoulMinuteOfDay(now);
  const match = /^(\d{1,2})(?::(\d{2}))?$/.exec(text);
  const minute = match ? Number(match[1]) * 60 + Number(match[2] ?? 0) : NaN;
  if (!(minute >= 0 && minute < 1440) || Number(match?.[2] ?? 0) >= 60) throw new UsageError(`--start-hour must be H, HH:MM or now, not ${JSON.stringify(text)}`);
  return minute;
}

/** Reads the command line; throws UsageError with a sentence for the user. */
export function parseCli(argv: readonly string[], defaults: { now: number; seed: number }): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean' },
        api: { type: 'string' },
        'admin-user': { type: 'string' },
        dong: { type: 'string' },
        'homes-file': { type: 'string' },
        'save-homes': { type: 'string' },
        duration: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        homes: { type: 'string' },
        scenario: { type: 'string' },
        speed: { type: 'string' },
        'start-hour': { type: 'string' },
        'silent-window': { type: 'string' },
        load: { type: 'boolean' },
        devices: { type: 'string' },
        rate: { type: 'string' },
        drain: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { kind: 'help' };
  const load = values.load === true;
  const only = (names: string[], mode: string) => {
    const wrong = names.filter((n) => values[n as keyof typeof values] !== undefined);
    if (wrong.length) throw new UsageError(`${wrong.map((n) => `--${n}`).join(', ')} ${wrong.length > 1 ? 'belong' : 'belongs'} to ${mode} mode`);
  };
  if (load) only(['homes', 'scenario', 'speed', 'start-hour', 'silent-window'], 'scenario');
  else only(['devices', 'rate'], 'load');
  if (values['homes-file'] !== undefined) {
    const fixed = ['scenario', 'silent-window', 'dong', 'save-homes'].filter((n) => values[n as keyof typeof values] !== undefined);
    if (fixed.length) throw new UsageError(`${fixed.map((n) => `--${n}`).join(', ')}: the homes of --homes-file keep what they were provisioned with`);
  }
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UsageError('--seed must be a whole number');
  const url = values.url ?? 'mqtt://127.0.0.1:1883';
  if (!/^(mqtts?|wss?):\/\//.test(url)) throw new UsageError('--url must start with mqtt://, mqtts://, ws:// or wss://');

  const common: CommonOptions = {
    api: (values.api ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    url,
    ...(values.ca === undefined ? {} : { ca: values.ca }),
    insecure: values.insecure === true,
    adminUser: values['admin-user'] ?? 'admin',
    dong: values.dong ?? (load ? 'sim-load' : '1111051500'),
    ...(values['homes-file'] === undefined ? {} : { homesFile: values['homes-file'] }),
    ...(values['save-homes'] === undefined ? {} : { saveHomes: values['save-homes'] }),
    seed: values.seed === undefined ? defaults.seed : Number(values.seed) >>> 0,
    durationMs: values.duration === undefined ? (load ? 10_000 : 60_000) : parseDuration('duration', values.duration),
    drainMs: values.drain === undefined ? (load ? 30_000 : 10_000) : parseDuration('drain', values.drain),
    json: values.json === true,
  };
  if (load) {
    const rate = values.rate?.replace(/\/s$/, '');
    return {
      kind: 'run',
      options: {
        ...common,
        mode: 'load',
        devices: values.devices === undefined ? 100 : positiveInt('devices', values.devices),
        ratePerSecond: rate === undefined ? 500 : positive('rate', rate),
      },
    };
  }
  return {
    kind: 'run',
    options: {
      ...common,
      mode: 'scenario',
      ...(values.homes === undefined ? {} : { homes: positiveInt('homes', values.homes) }),
      mix: parseScenarioMix(values.scenario ?? 'normal'),
      speed: values.speed === undefined ? 60 : positive('speed', values.speed),
      startMinute: parseStartHour(values['start-hour'] ?? 'now', defaults.now),
      ...(values['silent-window'] === undefined ? {} : { silentWindowSeconds: positive('silent-window', values['silent-window']) }),
    },
  };
}
