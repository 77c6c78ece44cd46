// Shared by the Kafka integration tests (test/integration/kafka/*.kafka.test.ts): the broker
// address, a kafkajs client with fast retries, unique names, and the reachable/skip/fail rule.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { RetryOptions } from 'kafkajs';

/** The broker under test: `KAFKA_BROKERS` (comma-separated), default the one scripts/kafka/start.sh runs. */
export const KAFKA_BROKERS: string[] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);

/** Faster than kafkajs's defaults (300 ms initial, 5 retries up to 30 s), so a broken test fails quickly. */
export const TEST_RETRY: RetryOptions = { initialRetryTime: 100, maxRetryTime: 1000, retries: 8 };

/**
 * kafkajs's own log, off by default: it logs retriable broker answers (coordinator not yet
 * available, concurrent transactions) as errors while the test passes. `KAFKAJS_LOG_LEVEL=DEBUG`
 * (or ERROR, WARN, INFO) turns it on when a test needs looking into.
 */
const LOG_LEVEL = logLevel[(process.env.KAFKAJS_LOG_LEVEL ?? 'NOTHING').toUpperCase() as keyof typeof logLevel] ?? logLevel.NOTHING;

/**
 * A client for the broker under test with TEST_RETRY. Producers and consumers inherit its retry
 * timing; idempotent producers keep kafkajs's unlimited retry count (fewer would weaken their
 * guarantees, and kafkajs warns), bounded by the test's timeout.
 */
export function testKafka(clientId = 'sluice-test'): Kafka {
  return new Kafka({ clientId, brokers: KAFKA_BROKERS, logLevel: LOG_LEVEL, connectionTimeout: 3000, requestTimeout: 15_000, retry: TEST_RETRY });
}

/** `prefix-<8 hex>`, so test runs never share topics, groups or transactional ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

let probe: Promise<string | null> | undefined;

/** Resolves to null when a broker answers at KAFKA_BROKERS, else to the reason it does not. Asked once per process. */
export function kafkaUnreachableReason(): Promise<string | null> {
  probe ??= (async () => {
    const kafka = new Kafka({ clientId: 'sluice-test-probe', brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length ? null : 'no broker registered in the cluster';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  })();
  return probe;
}

let warned = false;

/**
 * True when the broker is reachable. When it is not: fails the test if REQUIRE_KAFKA=1
 * (CI), otherwise skips it loudly and returns false.
 */
export async function kafkaAvailable(t: TestContext): Promise<boolean> {
  const reason = await kafkaUnreachableReason();
  if (reason === null) return true;
  const message = `Kafka not reachable at ${KAFKA_BROKERS.join(',')}: start it with scripts/kafka/start.sh (${reason})`;
  if (process.env.REQUIRE_KAFKA === '1') assert.fail(`REQUIRE_KAFKA=1 and ${message}`);
  if (!warned) {
    warned = true;
    process.stderr.write(`\n!!! SKIPPING Kafka integration tests: ${message}\n!!! (set REQUIRE_KAFKA=1 to make this a failure)\n\n`);
  }
  t.skip(message);
  return false;
}
