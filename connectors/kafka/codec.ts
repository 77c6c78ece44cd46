/**
 * How record values turn into objects and back. The Kafka source and sink take a codec, so
 * other formats (Avro with a schema registry) plug in here; JSON is the default.
 */
import { toJson } from '../../src/core/json.js';

export type Decoded = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

export interface ValueCodec {
  readonly name: string;
  /** Never throws: a value that does not decode comes back as `{ ok: false, error }` and is dead-lettered. */
  decode(bytes: Buffer): Decoded;
  encode(value: Record<string, unknown>): Buffer;
}

export const jsonCodec: ValueCodec = {
  name: 'json',
  decode(bytes) {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: `expected a JSON object, got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}` };
    }
    return { ok: true, value: value as Record<string, unknown> };
  },
  encode(value) {
    // 64-bit integers (BigInt) as JSON numbers with every digit, as the other JSON sinks write them.
    return Buffer.from(toJson(value) ?? 'null', 'utf8');
  },
};
