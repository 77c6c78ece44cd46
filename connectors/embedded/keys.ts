/**
 * LevelDB key layout of the embedded log. LevelDB sorts keys bytewise, so every
 * number is big-endian and fixed-width, and a topic name is closed by 0x00 (topic
 * names are [A-Za-z0-9._-] only, so 0x00 never occurs inside one and "a" sorts
 * before "a.b" with all of "a"'s keys together).
 *
 *   't' topic                                  → topic metadata (JSON { partitions })
 *   'b' topic 0x00 partition:u32 base:u64      → one record batch (see codec.ts)
 *   'o' topic 0x00 partition:u32 group(utf8)   → committed offset of a group, u64
 *
 * Offsets are grouped under the topic (not the group) so that deleting a topic
 * deletes its consumer positions with one range scan.
 */

const META = 0x74; // 't'
const BATCH = 0x62; // 'b'
const OFFSET = 0x6f; // 'o'
const TWO_32 = 2 ** 32;

/** The first key of the topic-metadata prefix, and the first key past it. */
export const metaRange = { gte: Buffer.from([META]), lt: Buffer.from([META + 1]) };

export function metaKey(topic: string): Buffer {
  const key = Buffer.allocUnsafe(1 + topic.length);
  key[0] = META;
  key.write(topic, 1, 'latin1'); // names are ASCII, checked by validateTopicName
  return key;
}

export function topicFromMetaKey(key: Buffer): string {
  return key.toString('latin1', 1);
}

function topicPrefixed(tag: number, topic: string, extra: number): Buffer {
  const key = Buffer.allocUnsafe(2 + topic.length + extra);
  key[0] = tag;
  key.write(topic, 1, 'latin1');
  key[1 + topic.length] = 0;
  return key;
}

export function batchKey(topic: string, partition: number, base: number): Buffer {
  const key = topicPrefixed(BATCH, topic, 12);
  const at = 2 + topic.length;
  key.writeUInt32BE(partition, at);
  // Offsets stay below 2^53, so they split exactly into two u32 halves.
  key.writeUInt32BE(Math.floor(base / TWO_32), at + 4);
  key.writeUInt32BE(base % TWO_32, at + 8);
  return key;
}

/** The base offset stored in the last 8 bytes of a batch key. */
export function baseOfBatchKey(key: Buffer): number {
  const at = key.length - 8;
  return key.readUInt32BE(at) * TWO_32 + key.readUInt32BE(at + 4);
}

/** All batch keys of one partition. */
export function partitionRange(topic: string, partition: number): { gte: Buffer; lt: Buffer } {
  return { gte: batchKey(topic, partition, 0), lt: batchKey(topic, partition + 1, 0) };
}

/** All keys of one topic under a tag ('b' batches or 'o' offsets). */
function topicRange(tag: number, topic: string): { gte: Buffer; lt: Buffer } {
  const gte = topicPrefixed(tag, topic, 0);
  const lt = Buffer.from(gte);
  lt[lt.length - 1] = 1; // the 0x00 terminator + 1: past every key of this topic only
  return { gte, lt };
}

export const topicBatchRange = (topic: string): { gte: Buffer; lt: Buffer } => topicRange(BATCH, topic);
export const topicOffsetRange = (topic: string): { gte: Buffer; lt: Buffer } => topicRange(OFFSET, topic);

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  const groupBytes = Buffer.from(group, 'utf8');
  const key = topicPrefixed(OFFSET, topic, 4 + groupBytes.length);
  key.writeUInt32BE(partition, 2 + topic.length);
  groupBytes.copy(key, 6 + topic.length);
  return key;
}

/** The partition and group of a key made by offsetKey for `topic`. */
export function partitionAndGroupOfOffsetKey(topic: string, key: Buffer): { partition: number; group: string } {
  return { partition: key.readUInt32BE(2 + topic.length), group: key.toString('utf8', 6 + topic.length) };
}

export function encodeOffset(offset: number): Buffer {
  const value = Buffer.allocUnsafe(8);
  value.writeUInt32BE(Math.floor(offset / TWO_32), 0);
  value.writeUInt32BE(offset % TWO_32, 4);
  return value;
}

export function decodeOffset(value: Buffer): number {
  return value.readUInt32BE(0) * TWO_32 + value.readUInt32BE(4);
}

/**
 * 'k' name(utf8) → an opaque value: job checkpoints (file positions, committed part
 * files) and keyed state live here, so they commit in the same atomic batch as records
 * and consumer offsets.
 */
const KV = 0x6b; // 'k'
export const KV_PREFIX = String.fromCharCode(KV);

export function kvKey(name: string): Buffer {
  // 'k' is ASCII, so one UTF-8 encode builds the whole key (no concat of three buffers).
  return Buffer.from(KV_PREFIX + name, 'utf8');
}

export function nameOfKvKey(key: Buffer): string {
  return key.toString('utf8', 1);
}

/** Every kv key starting with `prefix`. */
export function kvRange(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = kvKey(prefix);
  // The first key past every key that starts with `prefix`: the prefix followed by 0xff bytes sorts after them all.
  const lt = Buffer.concat([gte, Buffer.from([0xff])]);
  return { gte, lt };
}
