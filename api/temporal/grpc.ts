// Temporal as the app uses it on Node: the gRPC client behind the jobs and schedules gateways. Kept out of
// api/app.ts so that the fetch-only entry (api/edge.ts) never loads @temporalio/client and @grpc/grpc-js.
import { Client, type ConnectionLike } from '@temporalio/client';
import { defaultApiOptions, type TemporalGateways } from '../app.ts';
import { temporalCheck } from '../readiness.ts';
import { JobGateway, type TaskQueues } from './jobs.ts';
import { ScheduleGateway } from './schedules.ts';

export function grpcGateways(
  connection: ConnectionLike,
  namespace: string,
  queues: TaskQueues = defaultApiOptions.taskQueues,
): TemporalGateways {
  const client = new Client({ connection, namespace });
  return {
    jobs: new JobGateway(client, queues),
    ready: temporalCheck(connection, namespace),
    schedules: new ScheduleGateway(client, queues),
  };
}
