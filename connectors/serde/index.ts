/** Serde: value codecs between stored bytes/text and value objects (JSON; Avro on the Confluent wire format). */
export { DecodeFailure } from './codec.js';
export type { KeyDecoder, KeyEncoder, ValueDecoder, ValueEncoder } from './codec.js';
export { jsonValueDecoder, jsonValueEncoder } from './json.js';
export { AvroDecoder, AvroEncoder, avroKeyDecoder, avroKeyEncoder, avroValueDecoder, avroValueEncoder, parseAvroSchema, schemaText } from './avro.js';
export type { AvroDecoderOptions, AvroEncoderOptions } from './avro.js';
export { deriveOutputSchema } from './output-schema.js';
export { subjectName, type SubjectStrategy } from './subject.js';
export { SchemaLookupError, type SchemaStore } from './store.js';
export { RegistrySchemaStore, type RegistryOptions } from './registry-store.js';
export { EmbeddedSchemaStore } from './embedded-store.js';
export { HEADER_BYTES, MAGIC_BYTE, schemaIdOf } from './wire.js';
