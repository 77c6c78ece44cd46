// sluice's exactlyOnce checkpoint commit against the real broker: a checkpoint whose transaction
// fails after its records were written is aborted (and retried), and a read_committed reader never
// sees those records; a read_uncommitted one does, which proves they reached the log.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../connectors/embedded/index.js';
import { TransactionalWriter } from '../../../connectors/kafka/index.js';
import { memoryLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { KafkaCheckpointCommitter } from '../../../src/runtime/kafka-commit.js';
import { Transaction } from '../../../src/sinks/index.js';
import { dropTopics, kafkaAvailable, produceTo, readTopic, testKafka, uniqueName } from './helpers.js';

test('an aborted checkpoint transaction never reaches a read_committed reader', { timeout: 120_000 }, async (t) => {
  if (!(await kafkaAvailable(t))) return;
  const kafka = testKafka();
  const [input, output] = [uniqueName('tx-in'), uniqueName('tx-out')];
  await produceTo(kafka, input, 1, [{ key: 'a', value: { i: 0 } }]);
  await produceTo(kafka, output, 1, []);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tx-'));
  const log = await EmbeddedLog.open(dir);
  const txId = uniqueName('tx');
  let writer = new TransactionalWriter(kafka, txId);
  await writer.connect();
  const logger = memoryLogger();
  const metrics = createMetrics();
  try {
    const committer = new KafkaCheckpointCommitter({
      guarantee: 'exactlyOnce',
      topology: 'tx',
      group: uniqueName('tx-group'),
      task: 'in-0',
      partition: 0,
      transactional: {
        current: writer,
        // As the runtime does when an abort failed too: a new producer with the same id settles the old transaction.
        renew: async () => {
          await writer.close();
          writer = new TransactionalWriter(kafka, txId);
          await writer.connect();
          return writer;
        },
      },
      log,
      retry: { attempts: 2, initialMs: 50, maxMs: 100 },
      logger,
      metrics,
    });
    const staged = (tag: string, partition: number) => {
      const tx = new Transaction('in-0');
      for (let i = 0; i < 5; i++) tx.produced.push({ topic: output, key: `${tag}-${i}`, value: JSON.stringify({ tag, i }) });
      // Offsets of a partition the input does not have: the broker refuses them after the records were sent.
      tx.offsets.push({ group: 'ignored', topic: input, partition, offset: 1 });
      return tx;
    };
    await assert.rejects(committer.commit(staged('aborted', 7)));
    assert.ok(logger.lines.some((l) => /checkpoint of task in-0 \(transaction\) failed .*retrying/.test(l)), 'the failed attempt is logged and retried');
    await committer.commit(staged('committed', 0));

    const committed = await readTopic(kafka, output);
    assert.deepEqual(committed.map((r) => r.key), ['committed-0', 'committed-1', 'committed-2', 'committed-3', 'committed-4']);
    const all = await readTopic(kafka, output, { readUncommitted: true });
    assert.equal(all.filter((r) => r.key?.startsWith('aborted-')).length, 10, 'both aborted attempts wrote their records to the log');
  } finally {
    await writer.close();
    await dropTopics(kafka, [input, output]);
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
