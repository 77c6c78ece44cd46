/** Reads kafkajs errors without importing its classes everywhere: names, types and retriability. */
interface KafkaJsLike {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

/** The producer lost its transactional id to a newer instance (the partition moved): stop, do not retry. */
export function isFenced(err: unknown): boolean {
  for (let e = err as KafkaJsLike | undefined, depth = 0; e && depth < 5; e = (e.cause ?? e.originalError) as KafkaJsLike | undefined, depth++) {
    if (e.type === 'INVALID_PRODUCER_EPOCH' || e.type === 'PRODUCER_FENCED' || e.type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') return true;
    if (/fenced|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/i.test(e.message ?? '')) return true;
  }
  return false;
}

/** The broker refused this client a permission (topic, group, cluster): retrying will not help. */
export function isDenied(err: unknown): boolean {
  for (let e = err as KafkaJsLike | undefined, depth = 0; e && depth < 5; e = (e.cause ?? e.originalError) as KafkaJsLike | undefined, depth++) {
    if (/AUTHORIZATION_FAILED$/.test(e.type ?? '') || /not authorized/i.test(e.message ?? '')) return true;
  }
  return false;
}

/** The wait before the `failures`-th retry in a row: `initialMs`, doubling, at most `maxMs`. */
export function backoffMs(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** Math.max(0, failures - 1), maxMs);
}

/** SASL failures never get better with retries. */
export function isAuthFailure(err: unknown): boolean {
  const e = err as KafkaJsLike | undefined;
  return e?.name === 'KafkaJSSASLAuthenticationError' || /SASL|authentication/i.test(e?.message ?? '');
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as KafkaJsLike).cause ?? (err as KafkaJsLike).originalError;
    return cause instanceof Error && cause.message !== err.message ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
