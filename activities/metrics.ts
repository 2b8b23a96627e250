// Times every activity attempt on this worker for the pipeline metrics (core/metrics/pipeline.ts): which
// activities count as stages, ledger appends or webhook deliveries is decided there. An interceptor, so the
// activities stay free of timing code; its cost is two clock reads and a map update per attempt.
import { CancelledFailure, type Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import { pipelineMetrics } from '../core/metrics/pipeline.ts';

export function activityMetrics(context: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const type = context.info.activityType;
        const start = performance.now();
        const seconds = () => (performance.now() - start) / 1000;
        try {
          const result = await next(input);
          pipelineMetrics.activity(type, seconds(), 'completed');
          return result;
        } catch (error) {
          pipelineMetrics.activity(type, seconds(), error instanceof CancelledFailure ? 'cancelled' : 'failed');
          throw error;
        }
      },
    },
  };
}
