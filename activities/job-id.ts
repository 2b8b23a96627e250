import { Context } from '@temporalio/activity';
import { InvalidObjectKey } from '../core/object-store.ts';

/** The id of the job (workflow) an activity works for: its artifacts live under jobs/<id>/. */
export function currentJobId(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  if (!workflowId) throw new InvalidObjectKey('this activity runs inside a job: its keys are under the workflow id');
  return workflowId;
}
