import { Counter, Gauge, type Registry } from 'prom-client';
import { FastHistogram } from '../metrics/fast-histogram.js';

/** The online server's metrics (beside the model runner's, which give queue time and batch sizes). */
export interface OnlineMetrics {
  requestSeconds: FastHistogram<'route' | 'model' | 'status'>;
  inFlight: Gauge;
  rejections: Counter<'reason'>;
  inferences: Counter<'model'>;
  lateReplies: Counter<'topology'>;
}

/** Creates them in `registry`, or returns the ones already there (a second server in one process). */
export function onlineMetrics(registry: Registry): OnlineMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const r = [registry];
  return {
    requestSeconds: get('sluice_http_request_duration_seconds', () => new FastHistogram({ name: 'sluice_http_request_duration_seconds', help: 'Online request latency, from the request arriving to the answer sent, by route pattern, model and HTTP status.', labelNames: ['route', 'model', 'status'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r })),
    inFlight: get('sluice_online_inflight_requests', () => new Gauge({ name: 'sluice_online_inflight_requests', help: 'Inference and scoring requests being answered (queued or running).', registers: r })),
    rejections: get('sluice_online_rejections_total', () => new Counter({ name: 'sluice_online_rejections_total', help: 'Online requests refused or abandoned, by reason (queue_full, draining, deadline, cancelled, unauthorized, forbidden, too_large, invalid, not_found).', labelNames: ['reason'], registers: r })),
    inferences: get('sluice_online_inference_rows_total', () => new Counter({ name: 'sluice_online_inference_rows_total', help: 'Rows scored for online requests (compare with sluice_model_batch_rows_count, the inference calls, for the average batch size).', labelNames: ['model'], registers: r })),
    lateReplies: get('sluice_online_late_replies_total', () => new Counter({ name: 'sluice_online_late_replies_total', help: 'Bridge replies that arrived after their request had timed out (dropped).', labelNames: ['topology'], registers: r })),
  };
}
