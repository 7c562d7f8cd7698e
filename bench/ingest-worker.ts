import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { writeDigits } from '../core/digits.js';
import { offsetsAfter, writeEpochMs } from './digits.js';

/**
 * The ingest bench's device fleet, in its own process so it does not share an
 * event loop with the platform it measures. Reads a JSON job from argv[2];
 * every device publishes QoS 1 messages of `perMessage` readings (distinct
 * `ts` per device, 1 ms apart) with `window` messages in flight, for
 * `durationMs`, then waits for the last PUBACKs. Prints one JSON line:
 * {messages, readings, startedAt, finishedAt (epoch ms), cpuSeconds}.
 *
 * A load generator, not a device: it speaks MQTT 3.1.1 over TCP with packets
 * that mqtt-packet (the codec aedes and mqtt.js use) encoded once, rewriting
 * only the digits of each message in place, as the raw writer of
 * bench/ingest.ts rewrites its HTTP bodies. mqtt.js spent ~30 µs of CPU a
 * message here (0.8 of the 2 cores with one reading a message), CPU the
 * platform it measures then did not get. The device simulator and the tests
 * use mqtt.js.
 */
export interface IngestJob {
  url: string;
  devices: { id: string; secret: string }[];
  perMessage: number;
  window: number;
  durationMs: number;
  baseTs: number;
}

export interface IngestLoadResult {
  messages: number;
  readings: number;
  startedAt: number;
  finishedAt: number;
  cpuSeconds: number;
}

const job = JSON.parse(process.argv[2]!) as IngestJob;

/**
 * One lane's PUBLISH packet, encoded once and rewritten in place for each
 * message: every reading has a two-digit bpm and a 13-digit ts, so a message
 * differs from the last only in those digits. Normal values only: the bench
 * measures the data path, not alert creation.
 */
class LanePacket {
  readonly bytes: Buffer;
  private readonly digitsAt: number[]; // offset of each reading's bpm in the packet; its ts follows at a fixed distance

  constructor(topic: string, messageId: number) {
    const reading = `{"type":"heart_rate","bpm":60,"ts":${job.baseTs}}`;
    if (String(job.baseTs).length !== 13) throw new Error('ts must have 13 digits');
    const text = job.perMessage === 1 ? reading : `{"readings":[${Array(job.perMessage).fill(reading).join(',')}]}`;
    this.bytes = mqttPacket.generate({ cmd: 'publish', qos: 1, dup: false, retain: false, messageId, topic, payload: Buffer.from(text) });
    const payloadAt = this.bytes.length - Buffer.byteLength(text);
    this.digitsAt = offsetsAfter(text, '"bpm":').map((at) => payloadAt + at);
  }

  /** The packet whose first reading has `ts` (then ts + 1, …). */
  at(ts: number): Buffer {
    for (let k = 0; k < job.perMessage; k++) {
      const bpmAt = this.digitsAt[k]!;
      writeDigits(this.bytes, bpmAt, 60 + ((ts + k) % 40), 2);
      writeEpochMs(this.bytes, bpmAt + 8, ts + k); // after `60,"ts":`
    }
    return this.bytes;
  }
}

/** One device's connection: CONNECT, then `window` lanes, each one PUBLISH (its own packet id) in flight at a time. */
class Device {
  private readonly socket: Socket;
  private readonly lanes: LanePacket[] = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private running = 0;
  private next: number;
  private deadline = 0;
  private connectedAs!: (err?: Error) => void;
  private finished!: () => void;
  private closing = false;
  /** Settles with the CONNACK. */
  readonly connected: Promise<void>;
  /** Resolves when the last PUBACK after the deadline came. */
  readonly done: Promise<void>;

  constructor(device: { id: string; secret: string }, url: URL) {
    this.next = job.baseTs;
    const topic = `dh/v1/devices/${device.id}/readings`;
    for (let lane = 0; lane < job.window; lane++) this.lanes.push(new LanePacket(topic, lane + 1));
    this.connected = new Promise((resolve, reject) => (this.connectedAs = (err) => (err ? reject(err) : resolve())));
    this.done = new Promise((resolve) => (this.finished = resolve));
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    // The messages sent for the PUBACKs of one chunk leave in one write (cork): a write
    // each cost the fleet ~0.16 instead of ~0.13 µs of CPU a reading in the gateway mix.
    this.socket.on('data', (chunk: Buffer) => {
      this.socket.cork();
      this.parser.parse(chunk);
      this.socket.uncork();
    });
    // A connection lost mid-run would leave its lanes waiting for ever: the run fails instead.
    this.socket.on('error', (err) => fail(`${device.id}: ${err.message}`));
    this.socket.on('close', () => {
      if (!this.closing) fail(`${device.id}: the platform closed the connection`);
    });
    this.parser.on('packet', (packet: Packet) => this.onPacket(packet));
    this.socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(device.secret) }));
  }

  start(deadline: number): void {
    this.deadline = deadline;
    for (let lane = 0; lane < this.lanes.length; lane++) this.send(lane);
  }

  private send(lane: number): void {
    const ts = this.next;
    this.next += job.perMessage;
    this.running++;
    this.socket.write(this.lanes[lane]!.at(ts)); // the lane's own bytes: its last message was acknowledged
  }

  private onPacket(packet: Packet): void {
    if (packet.cmd === 'connack') {
      this.connectedAs(packet.returnCode === 0 ? undefined : new Error(`CONNACK ${packet.returnCode}`));
    } else if (packet.cmd === 'puback') {
      this.running--;
      messages++;
      if (Date.now() < this.deadline) this.send(packet.messageId! - 1);
      else if (this.running === 0) this.finished();
    }
  }

  close(): void {
    this.closing = true;
    this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  }
}

function fail(message: string): never {
  process.stderr.write(`ingest fleet: ${message}\n`);
  process.exit(1);
}

const url = new URL(job.url);
const devices = job.devices.map((d) => new Device(d, url));
await Promise.all(devices.map((d) => d.connected));

let messages = 0;
const cpu0 = process.cpuUsage();
const startedAt = Date.now();
const deadline = startedAt + job.durationMs;
for (const device of devices) device.start(deadline);
await Promise.all(devices.map((d) => d.done));
const finishedAt = Date.now();
for (const device of devices) device.close();
const cpu = process.cpuUsage(cpu0);
const result: IngestLoadResult = { messages, readings: messages * job.perMessage, startedAt, finishedAt, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(`${JSON.stringify(result)}\n`);
