import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './core/config.js';
import { createLogger } from './core/logger.js';
import { startPlatform } from './platform.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78); // EX_CONFIG
}
const log = createLogger(config.logLevel);
const platform = await startPlatform(config, { log });

closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'shutting down after an error');
  else log.info({ signal }, 'shutting down');
  await platform.close();
});
