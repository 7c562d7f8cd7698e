import type { BusTopics } from './bus.js';
import { serviceNames, type ServiceName } from './config.js';

/**
 * The services' bus over MQTT (DESIGN §3 split processes): the accounts the services
 * connect with and the topics they use. The broker enforces them (broker/hooks/),
 * core/mqtt-bus.ts uses them; devices never get any of these.
 */

/** A service of a split: one process each. */
export type BusService = Exclude<ServiceName, 'all'>;
export const busServices: readonly BusService[] = serviceNames.filter((name): name is BusService => name !== 'all');

// Device ids are [A-Za-z0-9_-] (core/schemas/registry.ts), so no device can be named like a service.
export const SERVICE_ACCOUNT_PREFIX = 'svc:';
/** Username and client id of a service: `svc:alerts`. */
export const serviceAccount = (service: BusService) => `${SERVICE_ACCOUNT_PREFIX}${service}`;

/** `svc:alerts` → 'alerts'; a username that is not a service account → undefined. */
export function serviceOfAccount(username: string): BusService | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const name = username.slice(SERVICE_ACCOUNT_PREFIX.length);
  return busServices.find((service) => service === name);
}

/** Every topic of the services' bus is under this; service accounts may use nothing else. */
export const SERVICE_TOPIC_PREFIX = 'dh/v1/svc/';
export const isServiceTopic = (topic: string) => topic.startsWith(SERVICE_TOPIC_PREFIX);

const BUS_TOPIC_PREFIX = `${SERVICE_TOPIC_PREFIX}bus/`;
/** A bus topic (BusTopics) as an MQTT topic: `alert` → `dh/v1/svc/bus/alert`. */
export const busTopic = (topic: keyof BusTopics) => `${BUS_TOPIC_PREFIX}${topic}`;
/** `dh/v1/svc/bus/alert` → 'alert'; another topic → undefined. */
export const busTopicOf = (mqttTopic: string) => (mqttTopic.startsWith(BUS_TOPIC_PREFIX) ? mqttTopic.slice(BUS_TOPIC_PREFIX.length) : undefined);
/** Requests to a service. */
export const requestTopic = (service: BusService) => `${SERVICE_TOPIC_PREFIX}rpc/${service}`;
/** Replies to the requests a service made: one client per service, so one reply topic each. */
export const replyTopic = (service: BusService) => `${SERVICE_TOPIC_PREFIX}reply/${serviceAccount(service)}`;
