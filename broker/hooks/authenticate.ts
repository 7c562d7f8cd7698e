import type { AuthenticateError, Client } from 'aedes';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Registry } from '../../registry/store.js';
import type { DeviceIdentity } from '../../ingest/index.js';
import { DEVICE_SECRET_COST, hashSecret, verifySecret } from '../../core/secrets.js';
import { SERVICE_ACCOUNT_PREFIX, busServices, serviceOfAccount, type BusService } from '../../core/service-accounts.js';
import type { ThrottledLog } from '../throttled-log.js';

// CONNACK return codes of MQTT 3.1.1 §3.2.2.3.
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refuse(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Where the broker keeps the proven identity of each device connection (a service's has none). */
export const identities = new WeakMap<Client, DeviceIdentity>();

/** The connections of the platform's own services (DESIGN §3 split processes): `svc:<service>`. */
export const serviceClients = new WeakMap<Client, BusService>();

/** Checks a service account's password against the bus secret. */
export interface ServiceCredentials {
  verify(password: Buffer): Promise<boolean>;
}

/**
 * Keeps only an scrypt hash of BUS_SECRET, made once with a random salt. The cheap device cost
 * (core/secrets.ts): a flood of `svc:` CONNECTs must not take the thread pool from devices'
 * authentication, and BUS_SECRET is generated, not remembered (docs/decisions.md).
 */
export async function serviceCredentials(busSecret: string): Promise<ServiceCredentials> {
  const stored = await hashSecret(busSecret, DEVICE_SECRET_COST);
  return { verify: (password) => verifySecret(password.toString('utf8'), stored) };
}

/** How many connections the broker holds, and the cap (MQTT_MAX_CONNECTIONS). */
export interface ConnectionCapacity {
  max: number;
  connected(): number;
  /** A client id already connected: its takeover (MQTT-3.1.4-2) does not add a connection. */
  isConnected(clientId: string): boolean;
}

/**
 * Identity comes only from credentials: client id = username = deviceId, password = the device secret.
 * Beyond the connection cap, new devices get CONNACK 3 (server unavailable) before any scrypt work.
 * With `services` (a bus secret is configured), `svc:<service>` with the bus secret is a service of
 * the platform; without it such a username is refused like an unknown device.
 */
export function createAuthenticate(
  registry: Registry, metrics: Metrics, log: Logger, refusals: ThrottledLog, capacity: ConnectionCapacity, services?: ServiceCredentials,
) {
  let authenticating = 0;
  let servicesAuthenticating = 0;
  return (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    const reject = (code: number, reason: string) => {
      metrics.brokerRejections.inc({ reason });
      refusals(reason, { clientId: String(client.id).slice(0, 64) }, 'connect refused');
      done(refuse(code, reason), false);
    };
    // Before the cap: the platform's own few connections must get in when devices fill it, or alerts stop.
    if (username?.startsWith(SERVICE_ACCOUNT_PREFIX)) {
      const service = serviceOfAccount(username);
      if (!services || !service || !password) return reject(BAD_USERNAME_OR_PASSWORD, 'bad_credentials');
      if (client.id !== username) return reject(IDENTIFIER_REJECTED, 'client_id_mismatch');
      // Exempt from the cap, so bounded on their own: one hash per service at most at a time.
      if (servicesAuthenticating >= busServices.length) return reject(SERVER_UNAVAILABLE, 'service_auth_busy');
      servicesAuthenticating++;
      services
        .verify(password)
        .finally(() => servicesAuthenticating--)
        .then((ok) => {
          if (!ok) return reject(BAD_USERNAME_OR_PASSWORD, 'bad_credentials');
          serviceClients.set(client, service);
          done(null, true);
        })
        .catch((err: Error) => {
          log.error({ err: err.message }, 'service authentication failed');
          done(refuse(SERVER_UNAVAILABLE, 'server_unavailable'), false);
        });
      return;
    }
    if (capacity.connected() + authenticating >= capacity.max && !capacity.isConnected(client.id)) {
      return reject(SERVER_UNAVAILABLE, 'max_connections');
    }
    if (!username || !password) return reject(BAD_USERNAME_OR_PASSWORD, 'missing_credentials');
    if (client.id !== username) return reject(IDENTIFIER_REJECTED, 'client_id_mismatch');
    authenticating++;
    registry
      .authenticateDevice(username, password.toString('utf8'))
      .finally(() => authenticating--)
      .then((device) => {
        if (!device) {
          const known = registry.getDevice(username);
          if (known && !known.enabled) return reject(NOT_AUTHORIZED, 'device_disabled');
          if (known && registry.getResident(known.residentId)?.enabled === false) return reject(NOT_AUTHORIZED, 'resident_disabled');
          return reject(BAD_USERNAME_OR_PASSWORD, 'bad_credentials');
        }
        identities.set(client, { deviceId: device.id, residentId: device.residentId, dong: device.dong });
        done(null, true);
      })
      .catch((err: Error) => {
        log.error({ err: err.message }, 'device authentication failed');
        done(refuse(SERVER_UNAVAILABLE, 'server_unavailable'), false);
      });
  };
}
