export { ModelRunner } from './runner.js';
export type { ExecutionProviderName, InferOptions, ModelOptions, ModelOutput, OutputTensor, TensorInfo } from './options.js';
