import type { AuthenticateError, Client } from 'aedes';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Registry } from '../../registry/store.js';
import type { DeviceIdentity } from '../../ingest/index.js';

// CONNACK return codes of MQTT 3.1.1 §3.2.2.3.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refuse(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Where the broker keeps the proven identity of each connection. */
export const identities = new WeakMap<Client, DeviceIdentity>();

/** Identity comes only from credentials: client id = username = deviceId, password = the device secret. */
export function createAuthenticate(registry: Registry, metrics: Metrics, log: Logger) {
  return (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    const reject = (code: number, reason: string) => {
      metrics.brokerRejections.inc({ reason });
      log.info({ clientId: client.id, reason }, 'connect refused');
      done(refuse(code, reason), false);
    };
    if (!username || !password) return reject(BAD_USERNAME_OR_PASSWORD, 'missing_credentials');
    if (client.id !== username) return reject(IDENTIFIER_REJECTED, 'client_id_mismatch');
    registry
      .authenticateDevice(username, password.toString('utf8'))
      .then((device) => {
        if (!device) {
          const known = registry.getDevice(username);
          return known && !known.enabled ? reject(NOT_AUTHORIZED, 'device_disabled') : reject(BAD_USERNAME_OR_PASSWORD, 'bad_credentials');
        }
        identities.set(client, { deviceId: device.id, residentId: device.residentId, dong: device.dong });
        done(null, true);
      })
      .catch((err: Error) => {
        log.error({ err: err.message }, 'device authentication failed');
        done(refuse(3, 'server_unavailable'), false);
      });
  };
}
