import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import type { Bus, BusTopics } from './bus.js';
import { ErrorCodes, PlatformError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import {
  busTopic, busTopicOf, replyTopic, requestTopic, serviceAccount, SERVICE_TOPIC_PREFIX, type BusService,
} from './service-accounts.js';

/**
 * The largest payload the bus sends: half the broker's MAX_PACKET_BYTES (broker/limits.ts, 256 KiB),
 * above which the broker closes the connection, leaving room for the topic and the header.
 */
export const MAX_BUS_PAYLOAD_BYTES = 128 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const RECONNECT_PERIOD_MS = 1000;
// close() waits this long for the broker to acknowledge what was published.
const CLOSE_TIMEOUT_MS = 5000;
const CLOSE_POLL_MS = 10;

export interface MqttBusOptions {
  /** mqtt://host:port of our broker (config.bus.url). */
  url: string;
  /** The account: username and client id are `svc:${service}`. */
  service: BusService;
  /** config.bus.secret (BUS_SECRET), the password. */
  secret: string;
  log: Logger;
  /** Default: log.error. */
  onHandlerError?: (topic: string, err: unknown) => void;
}

// Each method checks its params as it would a REST body's; the caller is another service.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServedMethod = (params: any) => unknown | Promise<unknown>;

export interface MqttBus extends Bus {
  /** Resolves once every subscription made so far (and serve()'s) is acknowledged by the broker (SUBACK). */
  ready(): Promise<void>;
  /**
   * Calls `method` on the service that serve()s it and resolves with its value. Rejects with a
   * PlatformError: the handler's code when it threw a PlatformError, `internal` for other throws,
   * `not_found` for a method the service does not serve, `store_unavailable` when no answer came
   * within `timeoutMs` (default 10 s) or the bus closed, `too_large` for params above MAX_BUS_PAYLOAD_BYTES.
   */
  request<R>(service: BusService, method: string, params: unknown, timeoutMs?: number): Promise<R>;
  /** Serves requests addressed to this bus's service; may be called again with other methods. */
  serve(methods: Record<string, ServedMethod>): void;
  /** Whether the connection to the broker is up now (health checks; publishes wait while it is not). */
  connected(): boolean;
  /** Waits (bounded) for the broker to acknowledge what was published, disconnects, rejects pending requests. */
  close(): Promise<void>;
}

interface BusRequest {
  id: string;
  method: string;
  params: unknown;
  replyTo: string;
  /** The requester's clock: a request that reaches its server later is not executed. */
  expiresAt: number;
}

type BusReply = { id: string; ok: true; value?: unknown } | { id: string; ok: false; error: ErrorCode; message: string };

/**
 * `items` as JSON arrays, in order, each at most `maxBytes` of UTF-8. An item too large for an array of
 * its own is left out and counted in `oversized`.
 */
export function splitJsonArray(items: readonly unknown[], maxBytes: number): { chunks: Buffer[]; oversized: number } {
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  let bytes = 2; // the brackets
  let oversized = 0;
  for (const item of items) {
    const json = JSON.stringify(item) ?? 'null'; // as JSON.stringify writes undefined in an array
    const size = Buffer.byteLength(json);
    if (size + 2 > maxBytes) {
      oversized++;
      continue;
    }
    if (parts.length > 0 && bytes + 1 + size > maxBytes) {
      chunks.push(Buffer.from(`[${parts.join(',')}]`));
      parts = [];
      bytes = 2;
    }
    bytes += size + (parts.length > 0 ? 1 : 0);
    parts.push(json);
  }
  if (parts.length > 0) chunks.push(Buffer.from(`[${parts.join(',')}]`));
  return { chunks, oversized };
}

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ErrorCodes, code);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The handlers of one MQTT topic. */
interface Route {
  handlers: Set<(message: unknown) => void>;
}

/**
 * How a bus reaches the broker: an MQTT connection (connectMqttBus), or, in the broker's own process,
 * the broker itself (broker/index.ts `busTransport`), so its messages skip a client and a socket.
 */
export interface BusTransport {
  /** Every message of the topics subscribed, in arrival order. */
  onMessage(handler: (topic: string, payload: Buffer) => void): void;
  /** Resolves once the broker has granted the subscription (QoS 1); rejects when it refused it. */
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): void;
  /** QoS 1; `done` once the broker took it (or with the reason it did not). */
  publish(topic: string, payload: Buffer, done: (err?: Error) => void): void;
  connected(): boolean;
  /** Bounded: waits for what is in flight, then lets go. */
  close(): Promise<void>;
}

/** Connects; resolves after CONNACK, rejects when the broker refuses the account or is not reached within 10 s. */
export async function connectMqttBus(options: MqttBusOptions): Promise<MqttBus> {
  return createMqttBus(await connectTransport(options), options);
}

/** An MQTT connection as the account `svc:<service>`, reconnecting by itself once it was up. */
function connectTransport(options: MqttBusOptions): Promise<BusTransport> {
  const { url, service, secret, log } = options;
  const account = serviceAccount(service);
  const where = `${new URL(url).host} as ${account}`; // never credentials the URL may carry
  const client: MqttClient = mqtt.connect(url, {
    clientId: account,
    username: account,
    password: secret,
    protocolVersion: 4,
    // A clean session: nothing waits at the broker for a service that is away. aedes would keep it in the
    // broker's memory, without a bound (observations at 10 k readings/s for an hour of an alerts outage are
    // 36 M messages) and without surviving the broker's own restart. What a service must not miss it catches
    // up from where it is kept: observations from the outbox (alerts/observation-feed.ts), alerts from the
    // alert store (the console's lastSeq), registry changes from the registry (read at start).
    clean: true,
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectOnConnackError: false, // at first; see below
  });
  let everConnected = false;
  let connected = false;
  let refusalLogged = false;
  let closing = false;

  client.on('connect', () => {
    if (everConnected) log.info({ bus: where }, 'bus reconnected'); // mqtt.js subscribes again by itself
    everConnected = true;
    connected = true;
    refusalLogged = false;
    // From now on a refusal (a broker restarted with another secret, say) is retried, not final.
    client.options.reconnectOnConnackError = true;
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    if (!closing) log.warn({ bus: where }, 'bus connection lost; reconnecting');
  });
  client.on('error', (err: Error & { code?: unknown }) => {
    if (typeof err.code === 'number' && everConnected && !refusalLogged) {
      refusalLogged = true;
      log.error({ bus: where, err: err.message }, 'the bus refuses this service; retrying');
    } else {
      log.debug({ bus: where, err: err.message }, 'bus connection error');
    }
  });

  const transport: BusTransport = {
    onMessage: (handler) => void client.on('message', handler),
    subscribe: (topic) => new Promise<void>((resolve, reject) => {
      client.subscribe(topic, { qos: 1 }, (err, granted) => {
        if (err || granted?.some((g) => g.qos !== 1)) reject(new Error(`the bus refused the subscription to ${topic}: ${err?.message ?? 'not authorized'}`));
        else resolve();
      });
    }),
    unsubscribe: (topic) => void client.unsubscribe(topic),
    // While disconnected mqtt.js keeps QoS 1 publishes and sends them on reconnecting.
    publish: (topic, payload, done) => void client.publish(topic, payload, { qos: 1 }, (err) => done(err)),
    connected: () => connected,
    async close() {
      closing = true;
      // In-flight QoS 1 publishes: wait (bounded) for their PUBACK, then DISCONNECT; else drop the socket.
      // (mqtt.js' own end() waits without a bound, and a second end() cannot cut it short.)
      const inFlight = () => Object.keys(client.outgoing).length;
      const deadline = Date.now() + CLOSE_TIMEOUT_MS;
      while (inFlight() > 0 && client.connected && Date.now() < deadline) await sleep(CLOSE_POLL_MS);
      if (inFlight() > 0) log.warn({ bus: where, unacknowledged: inFlight() }, 'closing the bus with publishes not acknowledged');
      await client.endAsync(inFlight() > 0 || !client.connected);
    },
  };

  return new Promise<BusTransport>((resolve, reject) => {
    let lastError: Error | undefined;
    const settle = (err?: Error) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (!err) return resolve(transport);
      closing = true;
      client.end(true);
      reject(err);
    };
    const onConnect = () => settle();
    const onError = (err: Error & { code?: unknown }) => {
      // A CONNACK refusal carries its return code (MQTT 3.1.1 §3.2.2.3); mqtt.js does not retry it at first.
      if (typeof err.code === 'number') {
        const hint = err.code === 4 ? ' (check BUS_SECRET; without one the broker takes no service accounts)' : '';
        settle(new Error(`the bus at ${where} refused the connection: ${err.message}, CONNACK ${err.code}${hint}`));
      } else {
        lastError = err;
      }
    };
    const timer = setTimeout(
      () => settle(new Error(`could not reach the bus at ${where} within ${CONNECT_TIMEOUT_MS / 1000} s${lastError ? `: ${lastError.message}` : ''}`)),
      CONNECT_TIMEOUT_MS,
    );
    client.on('connect', onConnect);
    client.on('error', onError);
  });
}

/** The bus over a transport: topics, their handlers, request/response. */
export function createMqttBus(transport: BusTransport, options: Pick<MqttBusOptions, 'service' | 'log' | 'onHandlerError'>): MqttBus {
  const { service, log } = options;
  const onHandlerError = options.onHandlerError ?? ((topic, err) => log.error({ topic, err: errorText(err) }, 'bus subscriber failed'));
  const ownReplyTopic = replyTopic(service);
  const routes = new Map<string, Route>();
  const subscriptions = new Set<Promise<void>>();
  const pending = new Map<string, { resolve(value: unknown): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  const served = new Map<string, ServedMethod>();
  let serving = false;
  let closed = false;

  // --- receiving: one route per MQTT topic, its handlers called in arrival order ---

  const deliver = (route: Route, topic: string, message: unknown) => {
    for (const handler of [...route.handlers]) {
      // One failing subscriber must not starve the others of the message.
      try {
        handler(message);
      } catch (err) {
        onHandlerError(topic, err);
      }
    }
  };

  transport.onMessage((topic, payload) => {
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      log.error({ topic }, 'bus message is not JSON; dropped');
      return;
    }
    const route = routes.get(topic);
    if (route && route.handlers.size > 0) deliver(route, busTopicOf(topic) ?? topic, message);
    else log.debug({ topic }, 'bus message without a subscriber; dropped');
  });

  const subscribeAtBroker = (topic: string) => {
    const acknowledged = transport.subscribe(topic);
    subscriptions.add(acknowledged);
    // A refused one stays in the set: ready() rejects.
    acknowledged.then(
      () => subscriptions.delete(acknowledged),
      (err: Error) => {
        if (!closed) log.error({ err: err.message }, 'bus subscription failed');
      },
    );
  };

  const addHandler = (topic: string, handler: (message: unknown) => void): (() => void) => {
    const entry = (message: unknown) => handler(message); // its own entry, so one handler may subscribe twice
    let route = routes.get(topic);
    if (!route) routes.set(topic, (route = { handlers: new Set() }));
    const first = route.handlers.size === 0;
    route.handlers.add(entry);
    if (first) subscribeAtBroker(topic);
    return () => {
      if (!route.handlers.delete(entry) || route.handlers.size > 0) return;
      routes.delete(topic);
      if (!closed) transport.unsubscribe(topic);
    };
  };

  // --- sending ---

  const send = (topic: string, payload: Buffer) => {
    transport.publish(topic, payload, (err) => {
      if (err) log.error({ topic, err: err.message }, 'bus publish failed');
    });
  };

  /** JSON of a request or a reply, or undefined (logged) when it cannot go on the bus. */
  const encode = (body: BusRequest | BusReply, what: string): Buffer | undefined => {
    const payload = Buffer.from(JSON.stringify(body));
    if (payload.length <= MAX_BUS_PAYLOAD_BYTES) return payload;
    log.error({ what, bytes: payload.length, max: MAX_BUS_PAYLOAD_BYTES }, 'bus payload too large; not sent');
    return undefined;
  };

  // --- request/response ---

  addHandler(ownReplyTopic, (message) => {
    const reply = message as BusReply;
    const waiting = pending.get(reply?.id);
    if (!waiting) return log.debug({ id: reply?.id }, 'reply after its request timed out; dropped');
    pending.delete(reply.id);
    clearTimeout(waiting.timer);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new PlatformError(isErrorCode(reply.error) ? reply.error : 'internal', reply.message));
  });

  const answer = (request: BusRequest, reply: BusReply) => {
    let payload: Buffer | undefined;
    try {
      payload = encode(reply, `reply to ${request.method}`);
    } catch (err) {
      log.error({ method: request.method, err: errorText(err) }, 'reply is not JSON');
    }
    payload ??= encode({ id: request.id, ok: false, error: 'internal', message: ErrorCodes.internal.text }, 'error reply');
    if (payload) send(request.replyTo, payload);
  };

  const onRequest = (message: unknown) => {
    const request = message as Partial<BusRequest> | null;
    if (typeof request?.id !== 'string' || typeof request.method !== 'string' || typeof request.replyTo !== 'string'
      || !request.replyTo.startsWith(`${SERVICE_TOPIC_PREFIX}reply/`)) { // the broker would drop us for another topic
      return log.error({ topic: requestTopic(service) }, 'malformed bus request; dropped');
    }
    const { id, method: name, replyTo } = request;
    const now = Date.now();
    if (typeof request.expiresAt !== 'number' || now > request.expiresAt) {
      // Its requester gave up (this service was away and the broker kept it): acting now would surprise them.
      return log.warn({ method: name, replyTo, lateMs: now - (request.expiresAt ?? now) }, 'bus request expired before it arrived; not executed');
    }
    const full = request as BusRequest;
    const method = served.get(name);
    if (!method) return answer(full, { id, ok: false, error: 'not_found', message: `${service} has no method ${name}` });
    new Promise((resolve) => resolve(method(full.params))).then(
      (value) => answer(full, { id, ok: true, value }),
      (err: unknown) => {
        if (err instanceof PlatformError) return answer(full, { id, ok: false, error: err.code, message: err.message });
        log.error({ method: name, err: errorText(err) }, 'bus request failed');
        answer(full, { id, ok: false, error: 'internal', message: ErrorCodes.internal.text });
      },
    );
  };

  const bus: MqttBus = {
    publish<T extends keyof BusTopics>(topic: T, message: BusTopics[T]) {
      if (closed) return log.error({ topic }, 'bus closed; message not sent');
      const mqttTopic = busTopic(topic);
      const payload = Buffer.from(JSON.stringify(message));
      if (payload.length <= MAX_BUS_PAYLOAD_BYTES) return send(mqttTopic, payload);
      if (!Array.isArray(message)) {
        return log.error({ topic, bytes: payload.length, max: MAX_BUS_PAYLOAD_BYTES }, 'bus message too large; not sent');
      }
      // An array (observations) goes as several, in order; its subscribers take any non-empty array.
      const { chunks, oversized } = splitJsonArray(message, MAX_BUS_PAYLOAD_BYTES);
      if (oversized > 0) log.error({ topic, oversized, max: MAX_BUS_PAYLOAD_BYTES }, 'bus message items too large; not sent');
      for (const chunk of chunks) send(mqttTopic, chunk);
    },

    subscribe<T extends keyof BusTopics>(topic: T, handler: (message: BusTopics[T]) => void) {
      return addHandler(busTopic(topic), handler as (message: unknown) => void);
    },

    ready: () => Promise.all([...subscriptions]).then(() => undefined),

    connected: () => transport.connected(),

    request<R>(target: BusService, method: string, params: unknown, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
      return new Promise<R>((resolve, reject) => {
        if (closed) return reject(new PlatformError('store_unavailable', 'the services bus is closed'));
        const id = randomUUID();
        const payload = encode({ id, method, params, replyTo: ownReplyTopic, expiresAt: Date.now() + timeoutMs }, `request ${method}`);
        if (!payload) return reject(new PlatformError('too_large', `the request exceeds the ${MAX_BUS_PAYLOAD_BYTES} bytes the bus carries`));
        // No answer in time: the service that keeps the data is away; store_unavailable is the registry's
        // "cannot do it right now; retry" (503), which is what the console should say.
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new PlatformError('store_unavailable', `${target} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
        send(requestTopic(target), payload);
      });
    },

    serve(methods) {
      for (const name of Object.keys(methods)) {
        if (served.has(name)) throw new Error(`bus method ${name} is served already`);
      }
      for (const [name, method] of Object.entries(methods)) served.set(name, method);
      if (!serving) addHandler(requestTopic(service), onRequest);
      serving = true;
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const [id, waiting] of pending) {
        clearTimeout(waiting.timer);
        waiting.reject(new PlatformError('store_unavailable', 'the services bus closed before the answer came'));
        pending.delete(id);
      }
      await transport.close();
    },
  };
  return bus;
}
