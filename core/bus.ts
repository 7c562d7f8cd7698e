import { EventEmitter } from 'node:events';
import type { Alert } from './schemas/alert.js';
import type { DeviceStatus, ObservedMessage } from './schemas/observation.js';
import type { Device, Resident, Staff } from './schemas/registry.js';

/** What services tell each other. Services meet only here and through their builders. */
export interface BusTopics {
  /** Accepted messages' readings, already durable in the outbox, in order per device. */
  observations: ObservedMessage[];
  /** Device online/offline from status messages, wills and disconnects. */
  'device-status': DeviceStatus;
  /** A resident was created or changed in the registry. */
  resident: Resident;
  /** A device was created or changed in the registry (e.g. disabled). */
  device: Device;
  /** A staff member was changed in the registry (role, dongs, password): their open consoles must re-authenticate. */
  staff: Staff;
  /** An alert was created or changed (already stored, carries its seq). */
  alert: Alert;
  /** The alerts engine's durable cursor (split processes: the broker service's outbox keeps every row above it). */
  'alerts-cursor': number;
  /**
   * When each device was last heard, for the devices heard since the last such message (split processes:
   * the console's device status without every observation crossing the bus to it).
   */
  'devices-heard': { deviceId: string; at: number }[];
}

export interface Bus {
  publish<T extends keyof BusTopics>(topic: T, message: BusTopics[T]): void;
  subscribe<T extends keyof BusTopics>(topic: T, handler: (message: BusTopics[T]) => void): () => void;
}

/** The embedded bus: synchronous delivery within one process. */
export function createInProcessBus(onHandlerError: (topic: string, err: unknown) => void): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(100);
  return {
    publish(topic, message) {
      for (const handler of emitter.listeners(topic)) {
        // One failing subscriber must not starve the others of the message.
        try {
          (handler as (m: unknown) => void)(message);
        } catch (err) {
          onHandlerError(topic, err);
        }
      }
    },
    subscribe(topic, handler) {
      emitter.on(topic, handler as (m: unknown) => void);
      return () => emitter.off(topic, handler as (m: unknown) => void);
    },
  };
}
