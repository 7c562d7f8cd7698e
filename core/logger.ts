import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger; each service takes `log.child({ svc })`. Never log secrets or names. */
export function createLogger(level: string = 'info'): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['password', 'secret', 'token', '*.password', '*.secret', '*.token'], censor: '[redacted]' },
  });
}
