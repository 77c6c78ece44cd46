// Keyed state for operators: the backend, its stores, and the event-time building blocks.
export type { StateWrite, StateStore, KvLog } from './store.js';
export { MemoryStateStore, kvStateStore } from './store.js';
export { coalescingReads } from './coalesce.js';
export type { StateOptions, ValueStateOptions, StateCodec, ValueState, MapState, ListState, KeyedStateBackendOptions } from './backend.js';
export { KeyedStateBackend } from './backend.js';
export { aggregatePacker, aggregateStateCodec } from './aggregate-codec.js';
export type { AggregatePacker } from './aggregate-codec.js';
export { PACKED, PackError, PackReader, PackWriter } from './packed.js';
export type { TimeWindow, WindowAssigner } from './windows.js';
export { tumbling, sliding, session, overlaps, mergeWindow } from './windows.js';
export type { WatermarkOptions, WatermarkSnapshot } from './watermark.js';
export { WatermarkTracker } from './watermark.js';
export type { Timer } from './timers.js';
export { TimerIndex } from './timers.js';
export type { Accumulator, AccumulatorKind, AggregateConfig, AggregatesConfig, AggregateState, CompiledAggregate } from './accumulators.js';
export { ACCUMULATORS, AggregateSchema, AggregatesSchema, compileAggregates, addInputs, mergeStates, results } from './accumulators.js';
export { DurationSchema, parseDuration, DURATION_HELP } from './duration.js';
