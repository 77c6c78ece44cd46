
/**
 * Shows a backfill's progress: a redrawn bar on a terminal, a plain line every
 * `everyMs` otherwise. Returns a function that stops it.
 */
/** What progress reads from a job. */
export interface ProgressSource {
  recordsRead(): number;
  progress(): { done: number; total: number; unit: string }[];
}

export function showProgress(job: ProgressSource, out: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr, everyMs = out.isTTY ? 250 : 10_000): () => void {
  const started = Date.now();
  const draw = (final: boolean): void => {
    const read = job.recordsRead();
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? read / secs : 0;
    const p = job.progress()[0];
    let line = `${read.toLocaleString('en-US')} records, ${Math.round(rate).toLocaleString('en-US')}/s`;
    if (p && p.total > 0) {
      const frac = Math.min(1, p.done / p.total);
      const eta = frac > 0 && frac < 1 ? ` ETA ${Math.round(secs / frac - secs)}s` : '';
      const bar = out.isTTY ? `[${'#'.repeat(Math.round(frac * 30)).padEnd(30)}] ` : '';
      line = `${bar}${(frac * 100).toFixed(1)}% of ${p.total.toLocaleString('en-US')} ${p.unit}, ${line}${eta}`;
    }
    if (out.isTTY) out.write(`\r${line.padEnd(100)}${final ? '\n' : ''}`);
    else if (!final) out.write(`progress: ${line}\n`);
  };
  const timer = setInterval(() => draw(false), everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    draw(true);
  };
}
