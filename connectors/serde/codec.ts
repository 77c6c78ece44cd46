/**
 * The value codec seam between logs (bytes or text) and the engine (value objects).
 * A source decodes each stored value into an object or a DecodeFailure (which becomes a
 * dead letter with its reason); a sink encodes each value object into what it stores.
 * `prepare` does the batch's slow, asynchronous part once (schema lookups, registration);
 * the per-record calls after it are synchronous, so the hot path never awaits.
 */
export interface ValueDecoder {
  /** Resolves whatever the batch needs (schema ids not seen before); undefined when nothing is needed. Optional. */
  prepare?(values: readonly (string | Buffer)[]): Promise<void> | undefined;
  /** The decoded value object, or why it cannot be decoded. */
  decode(value: string | Buffer): Record<string, unknown> | DecodeFailure;
}

export interface ValueEncoder {
  /** Resolves what encoding these values needs (the writer schema and its id). Optional. */
  prepare?(values: readonly Record<string, unknown>[]): Promise<void> | undefined;
  /** The stored form of one value; throws a SluiceError saying what does not fit. */
  encode(value: Record<string, unknown>): string | Buffer;
}

/** Keys: a stored key to the engine's string key (null stays null), and back. */
export interface KeyDecoder {
  prepare?(keys: readonly (string | Buffer | null)[]): Promise<void> | undefined;
  decode(key: string | Buffer | null): string | null | DecodeFailure;
}

export interface KeyEncoder {
  prepare?(keys: readonly (string | null)[]): Promise<void> | undefined;
  encode(key: string | null): string | Buffer | null;
}

/** Why one record could not be decoded: `code` is the dead letter's error code. */
export class DecodeFailure {
  constructor(readonly reason: string, readonly code = 'DECODE_ERROR') {}
}
