/** CONTRACT §2 topics; `{id}` is always the authenticated deviceId. */
export const TOPIC_PREFIX = 'dh/v1/devices/';

export const readingsTopic = (deviceId: string) => `${TOPIC_PREFIX}${deviceId}/readings`;
export const statusTopic = (deviceId: string) => `${TOPIC_PREFIX}${deviceId}/status`;
export const errorsTopic = (deviceId: string) => `${TOPIC_PREFIX}${deviceId}/errors`;

export type DeviceTopicKind = 'readings' | 'status' | 'errors';

/** `dh/v1/devices/d1/readings` → {deviceId: 'd1', kind: 'readings'}; anything else → undefined. */
export function parseDeviceTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  if (!topic.startsWith(TOPIC_PREFIX)) return undefined;
  const [deviceId, kind, ...rest] = topic.slice(TOPIC_PREFIX.length).split('/');
  if (!deviceId || rest.length > 0) return undefined;
  if (kind !== 'readings' && kind !== 'status' && kind !== 'errors') return undefined;
  return { deviceId, kind };
}
