import type { Client, Subscription } from 'aedes';
import type { Metrics } from '../../core/metrics.js';
import { errorsTopic } from '../topics.js';
import { identities } from './authenticate.js';

/** A device may subscribe only to its own errors topic; anything else is negated (SUBACK 0x80), not a disconnect. */
export function createAuthorizeSubscribe(metrics: Metrics) {
  return (client: Client, subscription: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void => {
    const device = identities.get(client);
    if (device && subscription.topic === errorsTopic(device.deviceId)) return done(null, subscription);
    metrics.brokerRejections.inc({ reason: 'subscribe_not_authorized' });
    done(null, null);
  };
}
