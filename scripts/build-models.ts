/**
 * Writes the example/test ONNX models (models/*.onnx is git-ignored; `npm test`'s
 * pretest runs this). Weights come from a seeded PRNG so the files are reproducible.
 *
 *   node dist/scripts/build-models.js [outDir]
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng, writeModel, type InitSpec, type NodeSpec } from './onnx/proto.js';

export interface MlpSpec {
  inputs: number;
  /** Width of each hidden layer (each followed by Relu); a number means one layer. */
  hidden: number | number[];
  outputs: number;
  seed: number;
  inputName?: string;
  outputName?: string;
}

/**
 * Writes `features` [N,inputs] → (Gemm → Relu)* → Gemm → Sigmoid → `score` [N,outputs].
 * Weights are uniform in ±sqrt(6/(fanIn+fanOut)) (Glorot) so the sigmoid is not saturated.
 */
export function writeMlp(path: string, spec: MlpSpec): void {
  const rand = prng(spec.seed);
  const widths = [spec.inputs, ...(Array.isArray(spec.hidden) ? spec.hidden : [spec.hidden]), spec.outputs];
  const inputName = spec.inputName ?? 'features';
  const outputName = spec.outputName ?? 'score';
  const nodes: NodeSpec[] = [];
  const initializers: InitSpec[] = [];
  let x = inputName;
  for (let l = 0; l + 1 < widths.length; l++) {
    const fanIn = widths[l]!;
    const fanOut = widths[l + 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut).map(() => (rand() * 2 - 1) * limit);
    const b = new Float32Array(fanOut).map(() => (rand() * 2 - 1) * 0.1);
    initializers.push({ name: `w${l}`, dims: [fanIn, fanOut], data: w }, { name: `b${l}`, dims: [fanOut], data: b });
    const last = l + 2 === widths.length;
    nodes.push({ op: 'Gemm', inputs: [x, `w${l}`, `b${l}`], outputs: [`z${l}`] });
    nodes.push({ op: last ? 'Sigmoid' : 'Relu', inputs: [`z${l}`], outputs: [last ? outputName : `h${l}`] });
    x = `h${l}`;
  }
  writeModel(path, {
    name: 'mlp',
    inputs: [{ name: inputName, type: 'float', dims: ['N', spec.inputs] }],
    outputs: [{ name: outputName, type: 'float', dims: ['N', spec.outputs] }],
    nodes,
    initializers,
  });
}

/** Writes small-mlp.onnx ([N,8]→64→1) and wide-mlp.onnx ([N,64]→512→512→1); returns their paths. */
export function buildModels(outDir = 'models'): string[] {
  const small = join(outDir, 'small-mlp.onnx');
  const wide = join(outDir, 'wide-mlp.onnx');
  writeMlp(small, { inputs: 8, hidden: 64, outputs: 1, seed: 1 });
  writeMlp(wide, { inputs: 64, hidden: [512, 512], outputs: 1, seed: 2 });
  return [small, wide];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const p of buildModels(process.argv[2])) console.log(`wrote ${p}`);
}
