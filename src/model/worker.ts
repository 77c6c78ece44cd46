/**
 * One worker thread = one InferenceSession. `session.run` is a synchronous native
 * call that blocks whatever thread it runs on, so batches run here, off the main thread
 * (only small online batches may run inline, see inline.ts); the runner hands each worker
 * one whole batch at a time (a round trip costs ~50 µs).
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { errorMessage, openSession, runSession, type OpenedSession } from './session.js';
import { describeSession, inputLayout, toOutputTensor } from './metadata.js';
import type { OutputTensor } from './options.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const message = errorMessage;

async function main(): Promise<void> {
  let opened: OpenedSession | undefined;
  let inputName: string;
  let step = 'open';
  try {
    opened = await openSession(init);
    const meta = describeSession(opened.session);
    const layout = inputLayout(meta.inputs);
    inputName = meta.inputs[0]!.name;
    const unknown = init.fetch.filter((n) => !opened!.session.outputNames.includes(n));
    if (unknown.length) {
      // The file loaded; the topology asked for a tensor it does not have.
      step = 'outputs';
      throw new Error(`the model has no output ${unknown.map((n) => JSON.stringify(n)).join(', ')}; its outputs: ${opened.session.outputNames.join(', ')}`);
    }
    step = 'warmup';
    // Warm up only when the row shape is known (otherwise we cannot make zeros).
    if (layout.row) {
      for (const n of init.warmupRows) {
        const dims = [layout.fixedBatch ?? n, ...layout.row];
        await opened.session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) });
      }
    }
    post({ type: 'ready', ...meta, provider: opened.providers[0]!, providers: opened.providers, fallback: opened.fallback });
  } catch (err) {
    await opened?.session.release().catch(() => undefined);
    post({ type: 'load-error', message: (step === 'warmup' ? 'warmup run failed: ' : '') + message(err), ...(step === 'outputs' ? { topology: true } : {}) });
    port.close();
    return;
  }
  const { session } = opened;

  // On Linux a nice value belongs to a thread, and setPriority(0) inside a worker thread sets
  // this thread's alone (checked against /proc/self/task/<tid>/stat), so bulk batches can run
  // at a lower CPU priority than online ones. Lowering always works; raising it back needs
  // privileges (RLIMIT_NICE) on most systems: when that fails the thread stays where it is
  // and the runner, told through `nice` in each answer, keeps it for bulk work.
  // The thread starts at the process's nice value (`base`); a batch asks for base + m.nice.
  let base = 0;
  let canNice = true;
  try {
    base = getPriority(0);
  } catch {
    canNice = false; // no per-thread priority here: answer 0 and never try again
  }
  let nice = 0; // relative to base
  const renice = (want: number): void => {
    if (!canNice || want === nice) return;
    try {
      setPriority(0, Math.min(19, base + want));
      nice = getPriority(0) - base;
    } catch {
      if (want > nice) canNice = false; // even lowering fails: give up on priorities
    }
  };

  port.on('message', async (m: ToWorker) => {
    if (m.type === 'close') {
      // Release the session before the thread ends rather than leaving it to
      // thread teardown (upstream onnxruntime#24486: crashes with several workers).
      await session.release().catch(() => undefined);
      post({ type: 'closed' });
      port.close();
      return;
    }
    renice(m.nice);
    try {
      const result = await runSession(session, inputName, m.data, m.dims, init.fetch);
      const outputs: Record<string, OutputTensor> = {};
      const transfer = new Set<ArrayBuffer>();
      for (const [name, t] of Object.entries(result)) {
        const o = toOutputTensor(name, t as ort.Tensor);
        outputs[name] = o;
        transfer.add(o.data.buffer as ArrayBuffer);
      }
      try {
        post({ type: 'result', id: m.id, outputs, nice }, [...transfer]);
      } catch {
        post({ type: 'result', id: m.id, outputs, nice }); // a buffer that cannot be detached: copy instead
      }
    } catch (err) {
      post({ type: 'failed', id: m.id, message: message(err), nice });
    }
  });
}

void main();
