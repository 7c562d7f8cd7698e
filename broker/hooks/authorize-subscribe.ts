import type { Client, Subscription } from 'aedes';
import type { Metrics } from '../../core/metrics.js';
import { isServiceTopic } from '../../core/service-accounts.js';
import { errorsTopic } from '../topics.js';
import { identities, serviceClients } from './authenticate.js';

function mayReceive(client: Client, topic: string): boolean {
  if (serviceClients.has(client)) return isServiceTopic(topic);
  const device = identities.get(client);
  return device !== undefined && topic === errorsTopic(device.deviceId);
}

/**
 * A device may subscribe only to its own errors topic, a service of the platform only to the services'
 * topics; anything else is negated (SUBACK 0x80), not a disconnect.
 */
export function createAuthorizeSubscribe(metrics: Metrics) {
  return (client: Client, subscription: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void => {
    if (mayReceive(client, subscription.topic)) return done(null, subscription);
    metrics.brokerRejections.inc({ reason: 'subscribe_not_authorized' });
    done(null, null);
  };
}
