import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

/**
 * All of sluice's Prometheus metrics, created once per registry. Components take a
 * `Metrics` object rather than the global registry so tests can read their own.
 */
export interface Metrics {
  registry: Registry;
  recordsIn: Counter<'operator'>;
  recordsOut: Counter<'operator'>;
  recordsDeadLettered: Counter<'operator' | 'code'>;
  operatorBatchSize: Histogram<'operator'>;
  sinkRecords: Counter<'sink'>;
  modelBatchRows: FastHistogram<'model'>;
  modelInferenceSeconds: FastHistogram<'model'>;
  modelQueueSeconds: FastHistogram<'model'>;
  modelQueueDepth: Gauge<'model'>;
  modelProviderFallbacks: Counter<'model' | 'requested'>;
  taskQueueDepth: Gauge<'task'>;
  checkpointSeconds: Histogram<'task'>;
  checkpointBytes: Histogram<'task'>;
  checkpointStateWrites: Histogram<'task'>;
  sourceLag: Gauge<'source' | 'topic' | 'partition'>;
  stateRestoreRecords: Counter<'task' | 'step'>;
  stateRestoreSeconds: Histogram<'task'>;
  kafkaRetries: Counter<'operation'>;
  partitionsAssigned: Gauge<'source'>;
}

export function createMetrics(registry: Registry = new Registry(), withDefaults = false): Metrics {
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'sluice_process_' });
  const r = [registry];
  return {
    registry,
    recordsIn: new Counter({ name: 'sluice_operator_records_in_total', help: 'Records that entered an operator.', labelNames: ['operator'], registers: r }),
    recordsOut: new Counter({ name: 'sluice_operator_records_out_total', help: 'Records that an operator emitted.', labelNames: ['operator'], registers: r }),
    recordsDeadLettered: new Counter({ name: 'sluice_records_dead_lettered_total', help: 'Records sent to the dead-letter destination, by operator and error code.', labelNames: ['operator', 'code'], registers: r }),
    operatorBatchSize: new Histogram({ name: 'sluice_operator_batch_size', help: 'Records per micro-batch entering an operator.', labelNames: ['operator'], buckets: [1, 8, 32, 128, 512, 1024, 4096, 16384], registers: r }),
    sinkRecords: new Counter({ name: 'sluice_sink_records_total', help: 'Records written to a sink.', labelNames: ['sink'], registers: r }),
    modelBatchRows: new FastHistogram({ name: 'sluice_model_batch_rows', help: 'Rows per inference call.', labelNames: ['model'], buckets: [1, 8, 32, 128, 512, 1024, 4096, 16384], registers: r }),
    modelInferenceSeconds: new FastHistogram({ name: 'sluice_model_inference_seconds', help: 'Time of one inference call: in a worker thread, including the hop to it, or on the main thread for small online batches.', labelNames: ['model'], buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: r }),
    modelQueueSeconds: new FastHistogram({ name: 'sluice_model_queue_seconds', help: 'Time a request waited in the model queue.', labelNames: ['model'], buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: r }),
    modelQueueDepth: new Gauge({ name: 'sluice_model_queue_rows', help: 'Rows waiting in the model queue.', labelNames: ['model'], registers: r }),
    modelProviderFallbacks: new Counter({ name: 'sluice_model_provider_fallbacks_total', help: 'Times a requested execution provider could not load and CPU was used.', labelNames: ['model', 'requested'], registers: r }),
    taskQueueDepth: new Gauge({ name: 'sluice_task_inflight_batches', help: 'Micro-batches in flight in a task.', labelNames: ['task'], registers: r }),
    checkpointSeconds: new Histogram({ name: 'sluice_checkpoint_seconds', help: 'Time to commit one checkpoint (sink flushes, part sealing, the atomic write, renames).', labelNames: ['task'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r }),
    checkpointBytes: new Histogram({ name: 'sluice_checkpoint_bytes', help: 'Bytes of records and state written by one checkpoint (approximate: value sizes).', labelNames: ['task'], buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 1e8], registers: r }),
    checkpointStateWrites: new Histogram({ name: 'sluice_checkpoint_state_writes', help: 'Keyed-state entries written or deleted by one checkpoint.', labelNames: ['task'], buckets: [0, 10, 100, 1000, 10000, 100000], registers: r }),
    sourceLag: new Gauge({ name: 'sluice_source_lag_records', help: 'Records in a source partition not yet read by this job (log end minus read position).', labelNames: ['source', 'topic', 'partition'], registers: r }),
    stateRestoreRecords: new Counter({ name: 'sluice_state_restore_records_total', help: 'Changelog records applied to local state while restoring a partition.', labelNames: ['task', 'step'], registers: r }),
    stateRestoreSeconds: new Histogram({ name: 'sluice_state_restore_seconds', help: 'Time to restore a partition\'s state from its changelogs before processing it.', labelNames: ['task'], buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 120], registers: r }),
    kafkaRetries: new Counter({ name: 'sluice_kafka_retries_total', help: 'Kafka operations retried after a failure (broker unreachable, rebalance, transaction error).', labelNames: ['operation'], registers: r }),
    partitionsAssigned: new Gauge({ name: 'sluice_source_partitions_assigned', help: 'Kafka partitions of a source this process owns (consumer-group assignment).', labelNames: ['source'], registers: r }),
  };
}
