import closeWithGrace from 'close-with-grace';
import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadConfig } from './core/config.js';
import { createLogger } from './core/logger.js';
import { startPlatform } from './platform.js';
import { startSplitService } from './split.js';

// V8 pretenures an allocation site (allocates its objects straight into the old generation) once most of its
// objects survived; the per-CONNECT garbage of aedes (a stream pipeline, ~11 KB a connection) then stays until
// a full GC: 90–100 MB more RSS with 10,000 devices connected (bench/memory.ts). Ingest CPU per reading was
// unchanged in paired runs. Process-wide, so set here and not in startPlatform (tests embed the platform).
setFlagsFromString('--no-allocation-site-pretenuring');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78); // EX_CONFIG
}
const log = createLogger(config.logLevel);
let running;
try {
  // SERVICE=all (the default) runs every service here; broker, alerts or web runs that one of a split.
  running = config.service === 'all' ? await startPlatform(config, { log }) : await startSplitService(config, { log });
} catch (err) {
  // One line an operator can act on (a refused bus secret, a port in use), not a stack trace.
  log.fatal({ err: (err as Error).message }, 'could not start');
  process.exit(1);
}

closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  await running.close();
});
