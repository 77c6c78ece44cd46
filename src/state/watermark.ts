/** What a WatermarkTracker persists (JSON; null stands for "no record yet"). */
export interface WatermarkSnapshot {
  maxEventTime: number | null;
  watermark: number | null;
}

export interface WatermarkOptions {
  /** How far behind the newest event time a record may arrive and still count. Default 0. */
  maxOutOfOrdernessMs?: number;
  /** Processing-time silence after which the watermark moves on by itself. Default: never. */
  idleTimeoutMs?: number;
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
 */
export class WatermarkTracker {
  private maxTs = -Infinity;
  private wm = -Infinity;
  private lastRecordAt: number | undefined;
  private readonly ooo: number;
  private readonly idleTimeout: number | undefined;

  constructor(opts: WatermarkOptions = {}) {
    this.ooo = opts.maxOutOfOrdernessMs ?? 0;
    this.idleTimeout = opts.idleTimeoutMs;
  }

  /** -Infinity before the first record. */
  get watermark(): number {
    return this.wm;
  }

  get maxEventTime(): number {
    return this.maxTs;
  }

  /** Takes a record's event time, seen at processing time `now`. */
  observe(eventTime: number, now: number): void {
    this.lastRecordAt = now;
    if (eventTime > this.maxTs) {
      this.maxTs = eventTime;
      if (eventTime - this.ooo > this.wm) this.wm = eventTime - this.ooo;
    }
  }

  /** Applies the idle rule at processing time `now`; true when the watermark moved. */
  onIdle(now: number): boolean {
    if (this.idleTimeout === undefined || this.lastRecordAt === undefined || this.maxTs === -Infinity) return false;
    const idle = now - this.lastRecordAt;
    if (idle < this.idleTimeout) return false;
    const next = this.maxTs - this.ooo + idle;
    if (next <= this.wm) return false;
    this.wm = next;
    return true;
  }

  snapshot(): WatermarkSnapshot {
    return { maxEventTime: fin(this.maxTs), watermark: fin(this.wm) };
  }

  /** Restores a snapshot; idleness counts from `now` (the restart), as nothing is known of the time before. */
  restore(s: WatermarkSnapshot, now: number): void {
    this.maxTs = s.maxEventTime ?? -Infinity;
    this.wm = s.watermark ?? -Infinity;
    this.lastRecordAt = this.maxTs === -Infinity ? undefined : now;
  }
}

function fin(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
