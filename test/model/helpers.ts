/** Shared bits for the model tests: model paths, seeded data, a direct ORT reference run. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { prng, writeModel } from '../../scripts/onnx/proto.js';

/** Built by `node dist/scripts/build-models.js` (npm test's pretest). */
export const SMALL_MLP = fileURLToPath(new URL('../../../models/small-mlp.onnx', import.meta.url));

/** A fresh temporary directory, removed when the test process exits. */
export function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-model-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function randomRows(rows: number, width: number, seed = 42): Float32Array {
  const r = prng(seed);
  return new Float32Array(rows * width).map(() => r() * 4 - 2);
}

/** Scores all rows in one call on a session in this thread: the reference. */
export async function directRun(path: string, data: Float32Array, dims: number[]): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    return await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', data, dims) });
  } finally {
    await s.release();
  }
}

/**
 * x [N,4] float → idx = ArgMax(x) int64 [N,1], pos = x > 0 bool [N,4],
 * picked = table[int(x)] float [N,4]. Gather fails on |x| >= 8: a data-dependent model error.
 */
export function writeOddModel(path: string): void {
  writeModel(path, {
    name: 'odd',
    inputs: [{ name: 'x', type: 'float', dims: ['N', 4] }],
    outputs: [
      { name: 'idx', type: 'int64', dims: ['N', 1] },
      { name: 'pos', type: 'bool', dims: ['N', 4] },
      { name: 'picked', type: 'float', dims: ['N', 4] },
    ],
    nodes: [
      { op: 'ArgMax', inputs: ['x'], outputs: ['idx'], attrs: { axis: 1, keepdims: 1 } },
      { op: 'Greater', inputs: ['x', 'zero'], outputs: ['pos'] },
      { op: 'Cast', inputs: ['x'], outputs: ['xi'], attrs: { to: 7 } },
      { op: 'Gather', inputs: ['table', 'xi'], outputs: ['picked'], attrs: { axis: 0 } },
    ],
    initializers: [
      { name: 'zero', dims: [], data: new Float32Array([0]) },
      { name: 'table', dims: [8], data: new Float32Array([0, 10, 20, 30, 40, 50, 60, 70]) },
    ],
  });
}

/** Two inputs (a float, b int64): not supported by the runner. */
export function writeTwoInputModel(path: string): void {
  writeModel(path, {
    name: 'two',
    inputs: [{ name: 'a', type: 'float', dims: ['N', 4] }, { name: 'b', type: 'int64', dims: ['N', 1] }],
    outputs: [{ name: 'y', type: 'float', dims: ['N', 4] }],
    nodes: [
      { op: 'Cast', inputs: ['b'], outputs: ['bf'], attrs: { to: 1 } },
      { op: 'Add', inputs: ['a', 'bf'], outputs: ['y'] },
    ],
    initializers: [],
  });
}
