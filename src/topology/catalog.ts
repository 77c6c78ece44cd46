import type { TSchema } from '@sinclair/typebox';
import type { ModelConfig } from './schema.js';

/**
 * What the validator needs to know about each step kind. The operator registry
 * (src/operators/index.ts) provides it; the topology layer does not import operators.
 */
export interface StepKind {
  readonly kind: string;
  readonly schema: TSchema;
  /** A terminal step sends records to sinks; the pipeline must end with one. */
  readonly terminal?: boolean;
  /** Checks beyond the schema: references to models and sinks, expressions. */
  check?(config: never, ctx: CheckContext): void;
}

export interface StepCatalog {
  kinds(): string[];
  get(kind: string): StepKind | undefined;
}

export interface CheckContext {
  readonly models: Readonly<Record<string, ModelConfig>>;
  readonly sinks: readonly string[];
  /** Reports a problem at a path relative to the step's config. */
  issue(rel: (string | number)[], message: string): void;
  requireModel(rel: (string | number)[], name: string): void;
  requireSink(rel: (string | number)[], name: string): void;
  /** Compiles an expression, reporting a syntax error as an issue. */
  expression(rel: (string | number)[], source: string): void;
}
