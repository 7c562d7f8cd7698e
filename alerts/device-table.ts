/**
 * What the engine keeps per device, as columns of typed arrays indexed by a
 * device number. Measured (engine heap at 100 k residents and 300 k devices,
 * DESIGN §1): one object per device, 105 MB for the devices; these columns,
 * 20 MB — the difference between meeting the 500 MB RSS bar or not.
 */
export class DeviceTable {
  private readonly index = new Map<string, number>();
  private capacity = 1024;
  ids: string[] = [];
  residentIds: string[] = [];
  lastSeenAt = new Float64Array(this.capacity);
  /** Silence counts from here: lastSeenAt, later after the platform's own downtime or a fresh window. */
  silenceFrom = new Float64Array(this.capacity);
  /** lastSeenAt for which device_offline already fired; NaN = none. */
  offlineFiredFor = new Float64Array(this.capacity);
  /** NaN: not in the registry, no silence deadline. */
  offlineAfterMs = new Float64Array(this.capacity);
  enabled = new Uint8Array(this.capacity);
  /** The live silence deadline of each device in the index, NaN = none (DeadlineIndex storage). */
  scheduled = new Float64Array(this.capacity).fill(NaN);
  /** Last power / illuminance / step value by reading type, only for devices that send them. */
  readonly levels = new Map<number, Record<string, number>>();

  get size(): number {
    return this.ids.length;
  }

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  /** Adds a device (or returns the number it has) with its resident. */
  add(id: string, residentId: string): number {
    const known = this.index.get(id);
    if (known !== undefined) {
      this.residentIds[known] = residentId;
      return known;
    }
    const i = this.ids.length;
    if (i === this.capacity) this.grow();
    this.ids.push(id);
    this.residentIds.push(residentId);
    this.index.set(id, i);
    this.offlineFiredFor[i] = NaN;
    this.offlineAfterMs[i] = NaN;
    this.scheduled[i] = NaN;
    return i;
  }

  private grow(): void {
    this.capacity *= 2;
    const f64 = (old: Float64Array, fill = 0) => {
      const next = new Float64Array(this.capacity).fill(fill);
      next.set(old);
      return next;
    };
    this.lastSeenAt = f64(this.lastSeenAt);
    this.silenceFrom = f64(this.silenceFrom);
    this.offlineFiredFor = f64(this.offlineFiredFor, NaN);
    this.offlineAfterMs = f64(this.offlineAfterMs, NaN);
    this.scheduled = f64(this.scheduled, NaN);
    const enabled = new Uint8Array(this.capacity);
    enabled.set(this.enabled);
    this.enabled = enabled;
  }
}

/** The DeadlineIndex storage of silence deadlines: the table's `scheduled` column. */
export class ScheduledColumn {
  private count = 0;
  constructor(private readonly table: DeviceTable) {}
  get size(): number {
    return this.count;
  }
  get(i: number): number | undefined {
    const due = this.table.scheduled[i]!;
    return Number.isNaN(due) ? undefined : due;
  }
  set(i: number, due: number): void {
    if (Number.isNaN(this.table.scheduled[i]!)) this.count++;
    this.table.scheduled[i] = due;
  }
  delete(i: number): void {
    if (!Number.isNaN(this.table.scheduled[i]!)) this.count--;
    this.table.scheduled[i] = NaN;
  }
}
