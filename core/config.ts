import { z } from 'zod';

// Digits only: z.coerce would read ' ' as 0, and port 0 silently means "any free port".
const port = (fallback: number) =>
  z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number 0–65535')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number 0–65535'))
    .default(fallback);
const optionalString = z.string().min(1).optional();

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `all`: the embedded default, every service in this process; otherwise the one service it runs. */
export const serviceNames = ['all', 'broker', 'alerts', 'web'] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Every variable of CONTRACT §1, plus a few operator knobs; all optional. */
export const EnvSchema = z
  .object({
    MQTT_PORT: port(1883),
    MQTT_WS_PORT: port(9001),
    MQTT_TLS_PORT: port(8883),
    TLS_CERT: optionalString, // path to a PEM file
    TLS_KEY: optionalString,
    HTTP_PORT: port(8080),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('./data'),
    INFLUX_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    INFLUX_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, _ or - (1–64)')
      .default('donghaeng'),
    INFLUX_ORG: optionalString, // 2.x: the organisation owning the bucket
    INFLUX_TOKEN: optionalString,
    INFLUX_USERNAME: optionalString,
    INFLUX_PASSWORD: optionalString,
    ADMIN_USERNAME: z.string().min(1).default('admin'),
    ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    TZ_DISPLAY: z.string().refine(isTimeZone, 'must be an IANA time zone').default('Asia/Seoul'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // How often the alerts engine scans its deadlines (missed check-ins, escalations).
    ALERT_SCAN_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
    // Broker limits (docs/decisions.md): connections beyond the cap get CONNACK 3; a device
    // sending faster than its token bucket refills gets `rate_limited` for the excess.
    MQTT_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
    MQTT_DEVICE_RATE: z.coerce.number().positive().max(1_000_000).default(50),
    MQTT_DEVICE_BURST: z.coerce.number().int().min(1).max(10_000_000).default(200),
    // Minutes an unacknowledged alert waits at a level before it moves up (CONTRACT §4); decimals allowed.
    ALERT_ESCALATE_CRITICAL_MIN: z.coerce.number().positive().max(7 * 24 * 60).default(10),
    ALERT_ESCALATE_WARNING_MIN: z.coerce.number().positive().max(7 * 24 * 60).default(60),
    // A warning vital alerts only when repeated within this many minutes; 0 = off (DESIGN §5).
    ALERT_CONFIRM_WARNINGS_MIN: z.coerce.number().min(0).max(24 * 60).default(0),
    // Split processes (CONTRACT §1, DESIGN §3): which service this process runs, and how the services
    // reach each other: MQTT on our own broker, as service accounts that share BUS_SECRET.
    SERVICE: z.enum(serviceNames).default('all'),
    BUS_URL: z.url({ protocol: /^mqtts?$/, error: 'must be an mqtt:// or mqtts:// URL' }).optional(),
    BUS_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .refine((env) => env.SERVICE === 'all' || Boolean(env.BUS_SECRET), {
    path: ['BUS_SECRET'],
    message: 'is needed when SERVICE runs one service of the split (the services authenticate to the bus with it)',
  })
  .refine((env) => !(env.SERVICE === 'broker' || env.SERVICE === 'web') || Boolean(env.INFLUX_URL), {
    path: ['INFLUX_URL'],
    message: 'is needed by the broker and web services of a split (only the embedded platform starts an influxd of its own)',
  })
  .refine((env) => Boolean(env.TLS_CERT) === Boolean(env.TLS_KEY), {
    path: ['TLS_KEY'],
    message: 'TLS_CERT and TLS_KEY must be given together',
  })
  .refine((env) => Boolean(env.INFLUX_USERNAME) === Boolean(env.INFLUX_PASSWORD), {
    path: ['INFLUX_PASSWORD'],
    message: 'INFLUX_USERNAME and INFLUX_PASSWORD must be given together',
  });

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  host: string;
  dataDir: string;
  logLevel: Env['LOG_LEVEL'];
  tzDisplay: string;
  mqtt: { port: number; wsPort: number; tls?: { port: number; certFile: string; keyFile: string } };
  http: { port: number };
  influx: { url?: string; db: string; org?: string; token?: string; username?: string; password?: string };
  admin: { username: string; password?: string };
  alerts: { scanIntervalMs: number; escalation: { criticalMs: number; warningMs: number }; confirmWarningsMs: number };
  limits: { maxConnections: number; deviceRate: number; deviceBurst: number };
  service: ServiceName;
  /** Where the services of a split meet (default: this host's own MQTT port), and their shared secret. */
  bus: { url: string; secret?: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; a bad value throws one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // An empty variable (`FOO=` in a compose file) means "unset", not "empty string".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = present[name] === undefined ? '' : ` (got ${JSON.stringify(present[name])})`;
      return `config: ${name} ${issue.message}${got}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const e = parsed.data;
  return deepFreeze({
    host: e.HOST,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    tzDisplay: e.TZ_DISPLAY,
    mqtt: {
      port: e.MQTT_PORT,
      wsPort: e.MQTT_WS_PORT,
      ...(e.TLS_CERT && e.TLS_KEY ? { tls: { port: e.MQTT_TLS_PORT, certFile: e.TLS_CERT, keyFile: e.TLS_KEY } } : {}),
    },
    http: { port: e.HTTP_PORT },
    influx: {
      url: e.INFLUX_URL,
      db: e.INFLUX_DB,
      org: e.INFLUX_ORG,
      token: e.INFLUX_TOKEN,
      username: e.INFLUX_USERNAME,
      password: e.INFLUX_PASSWORD,
    },
    admin: { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD },
    alerts: {
      scanIntervalMs: e.ALERT_SCAN_MS,
      escalation: { criticalMs: e.ALERT_ESCALATE_CRITICAL_MIN * 60_000, warningMs: e.ALERT_ESCALATE_WARNING_MIN * 60_000 },
      confirmWarningsMs: e.ALERT_CONFIRM_WARNINGS_MIN * 60_000,
    },
    limits: { maxConnections: e.MQTT_MAX_CONNECTIONS, deviceRate: e.MQTT_DEVICE_RATE, deviceBurst: e.MQTT_DEVICE_BURST },
    service: e.SERVICE,
    // By default the services meet on this host's broker (a wildcard bind address is not one to connect to).
    bus: { url: e.BUS_URL ?? `mqtt://${['0.0.0.0', '::'].includes(e.HOST) ? '127.0.0.1' : e.HOST}:${e.MQTT_PORT}`, secret: e.BUS_SECRET },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
