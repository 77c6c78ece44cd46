// kafkajs errors as SluiceErrors that say what failed, where, and what to change.
import { SluiceError, type ErrorCode } from '../../src/core/errors.js';
import type { KafkaConnection } from './config.js';
import { isAuthFailure } from './errors.js';

/** The first error in a kafkajs cause chain (retries wrap the real one in KafkaJSNumberOfRetriesExceeded). */
function rootCause(err: unknown): Error & { type?: string } {
  let e = err as Error & { cause?: unknown; type?: string };
  while (e && typeof e === 'object' && e.cause instanceof Error) e = e.cause as Error & { cause?: unknown; type?: string };
  return e instanceof Error ? e : new Error(String(err));
}

/**
 * Wraps an error from kafkajs as KAFKA_UNAVAILABLE (as the runtime does) with a message for the
 * case: wrong SASL credentials (naming the user and mechanism), brokers that do not answer
 * (naming them and the retries spent), anything else with kafkajs's message; a missing topic
 * is NOT_FOUND.
 */
export function kafkaError(err: unknown, conn: KafkaConnection, action: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const cause = rootCause(err);
  const at = conn.brokers.join(',');
  const name = cause.name ?? '';
  let code: ErrorCode = 'KAFKA_UNAVAILABLE';
  let message: string;
  if (isAuthFailure(cause)) {
    const who = conn.sasl ? `user "${conn.sasl.username}" with ${conn.sasl.mechanism.toUpperCase()}` : 'a client without SASL credentials';
    message = `Kafka at ${at} refused ${who} while ${action}: ${cause.message}. Check connection.kafka.sasl (mechanism, username, password) in the connection profile`;
  } else if (cause.type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    code = 'NOT_FOUND';
    message = `Kafka at ${at}: a topic does not exist while ${action} (${cause.message})`;
  } else if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Connection timeout|Connection error|KafkaJSConnectionError|KafkaJSBrokerNotFound|KafkaJSNumberOfRetriesExceeded/.test(`${name} ${cause.message}`)) {
    message = `Kafka at ${at} did not answer while ${action} (after ${conn.retry.retries} retries): ${cause.message}. Check connection.kafka.brokers and that the brokers run (a SASL listener needs connection.kafka.sasl)`;
  } else {
    message = `Kafka at ${at} failed while ${action}: ${cause.message}`;
  }
  return new SluiceError(code, message, { brokers: at }, { cause: err });
}
