/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian
 * integer, then the Avro binary body. Every Confluent client, Kafka Connect and
 * ksqlDB read and write exactly this, so bytes sluice writes can be read by them.
 */
export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** The schema id framed in `buf`, or a reason the bytes are not on the wire format. */
export function schemaIdOf(buf: Uint8Array): number | string {
  if (buf.length === 0) return 'empty value: expected the Confluent magic byte 0, a 4-byte schema id and an Avro body';
  if (buf[0] !== MAGIC_BYTE) {
    const hint = buf[0] === 0x7b ? ' (the bytes start with "{": JSON? set the source format to json)' : '';
    return `missing the Confluent magic byte: the first byte is 0x${buf[0]!.toString(16).padStart(2, '0')}, expected 0x00${hint}`;
  }
  if (buf.length < HEADER_BYTES) return `only ${buf.length} bytes: too short for the Confluent header (magic byte and 4-byte schema id)`;
  return ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
}

/** Writes the 5-byte header for `id` at the start of `buf`. */
export function writeHeader(buf: Buffer, id: number): void {
  buf[0] = MAGIC_BYTE;
  buf.writeUInt32BE(id, 1);
}
