import type avro from 'avsc';
import { SluiceError } from '../../src/core/errors.js';

/**
 * Subject name strategies, as Confluent's serializers name them:
 * - topic (TopicNameStrategy, the default): `<topic>-value` / `<topic>-key`;
 * - record (RecordNameStrategy): the record's full name, so one subject spans topics;
 * - topic-record (TopicRecordNameStrategy): `<topic>-<record full name>`, several record types per topic.
 */
export type SubjectStrategy = 'topic' | 'record' | 'topic-record';

export function subjectName(strategy: SubjectStrategy, topic: string, isKey: boolean, type: avro.Type | undefined): string {
  if (strategy === 'topic') return `${topic}-${isKey ? 'key' : 'value'}`;
  const name = type?.name;
  if (!name) {
    throw new SluiceError('INVALID_TOPOLOGY', `the ${strategy} subject name strategy needs a named Avro type (a record) for topic "${topic}"${type ? `; the schema is a ${type.typeName}` : ''}`);
  }
  return strategy === 'record' ? name : `${topic}-${name}`;
}
