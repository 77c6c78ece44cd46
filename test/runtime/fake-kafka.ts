// Stand-ins for kafkajs, for the logic around its consumers (recovery, positions); the real
// broker is used in test/integration/kafka.
import assert from 'node:assert/strict';
import type { EachBatchPayload, Kafka } from 'kafkajs';

/** A Kafka whose every consumer() is a new stand-in, so a replaced consumer can be told from its successor. */
export function fakeKafkaMany() {
  const made: { handlers: Map<string, (e: { payload: unknown }) => void>; calls: string[]; eachBatch?: (p: EachBatchPayload) => Promise<void>; disconnected: boolean; groupless?: boolean }[] = [];
  // As kafkajs: pause and resume throw while the consumer has no running group.
  const flow = (m: (typeof made)[number], what: string) => {
    if (!m.eachBatch || m.groupless) throw new Error('Consumer group was not initialized, consumer#run must be called first');
    m.calls.push(what);
  };
  /** Consumer groups deleted through admin(). */
  const deletedGroups: string[] = [];
  const kafka = {
    admin: () => ({ connect: async () => undefined, deleteGroups: async (ids: string[]) => void deletedGroups.push(...ids), disconnect: async () => undefined }),
    consumer: () => {
      const m: (typeof made)[number] = { handlers: new Map(), calls: [], disconnected: false };
      made.push(m);
      return {
        events: { GROUP_JOIN: 'join', CRASH: 'crash', END_BATCH_PROCESS: 'end', FETCH_START: 'fetch start', FETCH: 'fetch' },
        on: (name: string, h: (e: { payload: unknown }) => void) => void m.handlers.set(name, h),
        connect: async () => undefined,
        subscribe: async () => undefined,
        run: async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
          m.eachBatch = o.eachBatch;
          // As kafkajs when joining fails: the crash is an event, and run() still resolves.
          if (crashOnRun.n > 0 && made.length > 1) {
            crashOnRun.n--;
            m.handlers.get('crash')!({ payload: { error: new Error('Failed to find group coordinator'), restart: false } });
          }
        },
        pause: () => flow(m, 'pause'),
        resume: () => flow(m, 'resume'),
        seek: (o: { partition: number; offset: string }) => m.calls.push(`seek ${o.partition}@${o.offset}`),
        disconnect: async () => void (m.disconnected = true),
      };
    },
  } as unknown as Kafka;
  const emit = (i: number, name: string, payload: unknown) => made[i]!.handlers.get(name)!({ payload });
  const crashOnRun = { n: 0 };
  const deliver = (i: number, partition: number, offsets: number[]) =>
    made[i]!.eachBatch!({
      batch: { topic: 't', partition, highWatermark: '100', messages: offsets.map((o) => ({ offset: String(o), key: null, value: Buffer.from(`${o}`), timestamp: '5', headers: {} })) },
      heartbeat: async () => undefined,
    } as unknown as EachBatchPayload);
  return { kafka, made, emit, deliver, crashOnRun, deletedGroups };
}

export const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
};
