import type { Benchmark } from './lib/benchmark.js';
import { streamEmbedded } from './benchmarks/stream-embedded.js';
import { streamStateful } from './benchmarks/stream-stateful.js';
import { modelRunner } from './benchmarks/model-runner.js';
import { kafkaPassthrough } from './benchmarks/kafka-passthrough.js';
import { kafkaSluice } from './benchmarks/kafka-sluice.js';
import { httpCeiling } from './benchmarks/http-ceiling.js';
import { batchFlights } from './benchmarks/batch-flights.js';
import { avroSerde } from './benchmarks/avro-serde.js';
import { streamAvro, streamAvroKafka } from './benchmarks/stream-avro.js';
import { onlineServing } from './benchmarks/online-serving.js';

/** Every benchmark `npm run bench` knows, in the order they run. */
export const BENCHMARKS: Benchmark[] = [modelRunner, streamEmbedded, streamStateful, batchFlights, avroSerde, streamAvro, kafkaPassthrough, kafkaSluice, streamAvroKafka, httpCeiling, onlineServing];
