import { Context } from '@temporalio/activity';
import type { TrainProgress } from '../core/jobs/stages.ts';
import { trainingMeter } from '../core/metrics/pipeline.ts';
import type { Progress } from '../engine/train/trainer.ts';

/**
 * The engine's progress callback for a training run in an activity: each step's figures go into `progress` (the
 * details a retried attempt and the job's status read) and out in a heartbeat, the worker's sign of life and the
 * way a cancel arrives; the steps also count toward this process's training throughput (/metrics).
 */
export function heartbeatProgress(progress: TrainProgress): (p: Progress) => void {
  const context = Context.current();
  const meter = trainingMeter(progress.step);
  return (p) => {
    Object.assign(progress, { step: p.step, totalSteps: p.totalSteps, loss: p.loss });
    if (p.eval) progress.evalLoss = p.eval.loss;
    meter(p.step, p.elapsedMs);
    context.heartbeat(progress);
  };
}
