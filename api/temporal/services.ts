// The jobs and schedules services over one transport's port, as the app takes them (api/app.ts).
import { LEDGER_QUEUE, type LedgerAppender } from '../../core/ledger/writer.ts';
import type { Check } from '../readiness.ts';
import type { Metric } from '../../core/metrics/registry.ts';
import { JobService, type TaskQueues } from './jobs.ts';
import { LedgerService } from './ledger.ts';
import type { TemporalPort } from './port.ts';
import { ReproductionService } from './reproductions.ts';
import { ScheduleService } from './schedules.ts';

/** Gauges read from Temporal when /metrics is scraped (./grpc-gauges.ts). */
export type GaugeSource = () => Promise<Metric[]>;

/** Temporal as the app uses it: over gRPC on Node (./grpc.ts), over its HTTP API on the edge (./http.ts). */
export type TemporalServices = {
  jobs: JobService;
  /** `reproduceModel` workflows (POST /v1/models/{model}/versions/{version}/reproduce). */
  reproductions?: ReproductionService;
  /** The /readyz check of Temporal. */
  ready: Check;
  /** Without it the schedule routes are not served. */
  schedules?: ScheduleService;
  /** Appends to the tenants' ledgers, through their writer workflows. */
  ledger: LedgerAppender;
  /** Jobs by state and task queue backlogs for /metrics; the gRPC transport's only (the edge serves none). */
  gauges?: GaugeSource;
};

/** `statusMaxAgeMs`: how old a job's status may be when served (./jobs.ts; 500 ms unless given). */
export function temporalServices(
  port: TemporalPort,
  ready: Check,
  queues: TaskQueues,
  { statusMaxAgeMs }: { statusMaxAgeMs?: number } = {},
): TemporalServices {
  return {
    jobs: new JobService(port, queues, { statusMaxAgeMs }),
    reproductions: new ReproductionService(port, queues),
    ready,
    schedules: new ScheduleService(port, queues),
    ledger: new LedgerService(port, queues.ledger ?? LEDGER_QUEUE),
  };
}
