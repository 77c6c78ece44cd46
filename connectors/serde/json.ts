import { toJson } from '../../src/core/json.js';
import { DecodeFailure, type ValueDecoder, type ValueEncoder } from './codec.js';

/** JSON objects as UTF-8 text: the default format of topics. */
export const jsonValueDecoder: ValueDecoder = {
  decode(raw) {
    let value: unknown;
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch (err) {
      return new DecodeFailure(`not valid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return new DecodeFailure(`expected a JSON object, got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`);
    }
    return value as Record<string, unknown>;
  },
};

export const jsonValueEncoder: ValueEncoder = {
  // 64-bit integers (BigInt) as JSON numbers with every digit, as the other JSON sinks write them.
  encode: (value) => toJson(value) ?? 'null',
};
