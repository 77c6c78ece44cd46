/** What a WatermarkTracker persists (JSON; null stands for "no record yet"). */
export interface WatermarkSnapshot {
  maxEventTime: number | null;
  watermark: number | null;
  /** With upstream tasks (after a repartition hop): the newest event time of each. */
  upstreams?: Record<string, number | null>;
}

export interface WatermarkOptions {
  /** How far behind the newest event time a record may arrive and still count. Default 0. */
  maxOutOfOrdernessMs?: number;
  /** Processing-time silence after which the watermark moves on by itself. Default: never. */
  idleTimeoutMs?: number;
  /**
   * The upstreams of the input: after a repartition hop, one input partition mixes the
   * records of several upstream tasks (after several hops, of several paths through them),
   * each in its own order. The watermark then follows the slowest of them (Flink's rule
   * for a task with several input channels).
   */
  upstreams?: readonly string[];
}

interface Upstream {
  maxTs: number;
  /** Processing time of its last record; undefined before the first. */
  lastAt: number | undefined;
}

/**
 * Event-time progress of one task. The watermark W promises that no more records with
 * event time < W are expected; windows ending at or before W are complete.
 *
 * - Records: W = max(W, max event time seen − maxOutOfOrderness). It never goes back.
 * - Idleness: once no record has arrived for `idleTimeoutMs` of processing time, event time
 *   is assumed to advance with processing time: W = max(W, maxEventTime − maxOutOfOrderness
 *   + (now − lastRecordAt)). A live stream closes its windows when it goes quiet; a replay of
 *   old data that stalls moves only by the stall's length, not to the wall-clock date.
 * - Upstream tasks (`upstreams`, after a repartition hop): each record names the task that
 *   wrote it, and W = max(W, min over upstream tasks of their newest event time −
 *   maxOutOfOrderness). An upstream task that has sent nothing yet holds W back (it may
 *   still send old records), so one running behind another never makes the other's records
 *   late. With `idleTimeoutMs`, an upstream task silent for that long is left out of the
 *   minimum (Flink's idle inputs); once every input is silent, the rule above applies.
 */
export class WatermarkTracker {
  private maxTs = -Infinity;
  private wm = -Infinity;
  private lastRecordAt: number | undefined;
  private readonly ooo: number;
  private readonly idleTimeout: number | undefined;
  private readonly up: Map<string, Upstream> | undefined;
  /** Processing time the tracker was first used (an upstream never heard from is idle since then). */
  private since: number | undefined;

  constructor(opts: WatermarkOptions = {}) {
    this.ooo = opts.maxOutOfOrdernessMs ?? 0;
    this.idleTimeout = opts.idleTimeoutMs;
    if (opts.upstreams) this.up = new Map(opts.upstreams.map((u) => [u, { maxTs: -Infinity, lastAt: undefined }]));
  }

  /** -Infinity before the first record. */
  get watermark(): number {
    return this.wm;
  }

  get maxEventTime(): number {
    return this.maxTs;
  }

  /** Takes a record's event time, seen at processing time `now`; `origin`: the upstream task that wrote it. */
  observe(eventTime: number, now: number, origin?: string): void {
    this.lastRecordAt = now;
    this.since ??= now;
    if (!this.up) {
      if (eventTime > this.maxTs) {
        this.maxTs = eventTime;
        if (eventTime - this.ooo > this.wm) this.wm = eventTime - this.ooo;
      }
      return;
    }
    if (eventTime > this.maxTs) this.maxTs = eventTime;
    if (origin === undefined) return;
    let u = this.up.get(origin);
    // A writer the job did not name (its inputs changed since the state was saved) joins the minimum.
    if (!u) this.up.set(origin, (u = { maxTs: -Infinity, lastAt: undefined }));
    u.lastAt = now;
    if (eventTime > u.maxTs) {
      u.maxTs = eventTime;
      this.followSlowest(now);
    }
  }

  /** W = max(W, min over upstream tasks not idle of their newest event time − maxOutOfOrderness); true when W moved. */
  private followSlowest(now: number): boolean {
    let min = Infinity;
    for (const u of this.up!.values()) {
      if (this.idleTimeout !== undefined && now - (u.lastAt ?? this.since ?? now) >= this.idleTimeout) continue;
      if (u.maxTs < min) min = u.maxTs;
    }
    if (min === Infinity || min - this.ooo <= this.wm) return false;
    this.wm = min - this.ooo;
    return true;
  }

  /** Applies the idle rule at processing time `now`; true when the watermark moved. */
  onIdle(now: number): boolean {
    this.since ??= now;
    const moved = this.up !== undefined && this.idleTimeout !== undefined && this.followSlowest(now);
    return this.wholeInputIdle(now) || moved;
  }

  private wholeInputIdle(now: number): boolean {
    if (this.idleTimeout === undefined || this.lastRecordAt === undefined || this.maxTs === -Infinity) return false;
    const idle = now - this.lastRecordAt;
    if (idle < this.idleTimeout) return false;
    const next = this.maxTs - this.ooo + idle;
    if (next <= this.wm) return false;
    this.wm = next;
    return true;
  }

  snapshot(): WatermarkSnapshot {
    const s: WatermarkSnapshot = { maxEventTime: fin(this.maxTs), watermark: fin(this.wm) };
    if (this.up) s.upstreams = Object.fromEntries([...this.up].map(([k, u]) => [k, fin(u.maxTs)]));
    return s;
  }

  /** Restores a snapshot; idleness counts from `now` (the restart), as nothing is known of the time before. */
  restore(s: WatermarkSnapshot, now: number): void {
    this.maxTs = s.maxEventTime ?? -Infinity;
    this.wm = s.watermark ?? -Infinity;
    this.lastRecordAt = this.maxTs === -Infinity ? undefined : now;
    this.since = now;
    if (this.up && s.upstreams) {
      for (const [k, ts] of Object.entries(s.upstreams)) this.up.set(k, { maxTs: ts ?? -Infinity, lastAt: ts === null ? undefined : now });
    }
  }
}

function fin(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
