/**
 * JSON text for values that may hold 64-bit integers (BigInt: int64 columns nested in
 * Parquet lists and structs, UDF results). JSON.stringify throws on a BigInt; here it
 * becomes a JSON number with all its digits (JSON numbers have no size limit, and
 * readers that parse 64-bit integers, such as pyarrow or jq's, keep them exact).
 * Node 20 has no JSON.rawJSON, so a BigInt goes out as a marked string first and the
 * marks are replaced by the digits.
 */
const MARK = '\u0000sluice-bigint:';
const MARKED = /"\\u0000sluice-bigint:(-?\d+)"/g;

function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? MARK + v.toString() : v;
}

/** JSON.stringify, with BigInt written as a JSON number. */
export function toJson(v: unknown): string | undefined {
  // A replacer function makes JSON.stringify several times slower (it is called for every
  // key), and this runs once per output record: the plain call first, which throws a
  // TypeError only when the value holds a BigInt; then the marked round.
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  const text = JSON.stringify(v, replacer);
  return text !== undefined && text.includes('sluice-bigint:') ? text.replace(MARKED, '$1') : text;
}
