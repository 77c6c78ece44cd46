import type { StepCatalog } from '../topology/catalog.js';
import { aggregateOperator } from './aggregate.js';
import { filterOperator } from './filter.js';
import { flatMapOperator } from './flat-map.js';
import { keyByOperator } from './key-by.js';
import { windowOperator } from './window.js';
import { mapOperator } from './map.js';
import type { OperatorSpec } from './operator.js';
import { routeOperator } from './route.js';
import { scoreOperator } from './score.js';
import { sinkOperator } from './sink.js';

/** The closed set of step kinds: kind → spec (schema, checks, factory). */
export const OPERATORS: ReadonlyMap<string, OperatorSpec<never>> = new Map<string, OperatorSpec<never>>(
  [mapOperator, filterOperator, flatMapOperator, keyByOperator, aggregateOperator, windowOperator, scoreOperator, routeOperator, sinkOperator].map((s) => [s.kind, s as OperatorSpec<never>]),
);

export const operatorCatalog: StepCatalog = {
  kinds: () => [...OPERATORS.keys()],
  get: (kind) => OPERATORS.get(kind),
};

export { outputTensorName } from './score.js';
export type { Operator, OperatorContext, OperatorDeps, OperatorSpec, ScoringModel } from './operator.js';
