// Orchestration overhead of one fineTuneJob, read from its event history: the workflow's wall time minus the time
// its activities ran (started -> closed, in a worker) minus the time it waited for a person's decision. What is
// left is Temporal's and the workflow's own cost: task dispatch (schedule-to-start), workflow tasks, timers.
// Activities that overlap (webhook deliveries; a job's ledger appends beside its stages) count once: the time in
// which at least one ran. (Summed, the overlap would be subtracted twice and the overhead read too low.)
//
//   npx tsx bench/job-overhead.ts test/fixtures/histories/happy-path.json
//
// The histories under test/fixtures/histories are recorded by the integration tests with
// RATCHET_RECORD_HISTORIES=1 (test/integration/job-harness.ts).
import { readFileSync } from 'node:fs';
import proto from '@temporalio/proto';

// A CommonJS package: Node's ESM loader sees only its default export.
const { temporal } = proto;

type Event = proto.temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

export const ms = (event: Event) => Number(event.eventTime!.seconds) * 1000 + (event.eventTime!.nanos ?? 0) / 1e6;

export type Overhead = {
  wallMs: number;
  /** The time in which at least one activity ran. */
  activityMs: number;
  /**
   * Activities by type: count, summed run time (of the last attempt), summed schedule-to-start and attempts beyond
   * the first.
   */
  activities: Record<string, { count: number; ms: number; scheduleToStartMs: number; retries: number }>;
  /** Scheduled -> started, summed: time an activity task waited for a worker. */
  scheduleToStartMs: number;
  /** Workflow tasks, scheduled -> completed, summed: dispatch plus running the workflow code. */
  workflowTaskMs: number;
  /** Of those, scheduled -> started: the task waiting for a worker's poll. */
  workflowTaskDispatchMs: number;
  /** The first workflow task, scheduled -> completed (the worker loads the workflow into its sandbox). */
  firstWorkflowTaskMs: number;
  workflowTasks: number;
  humanWaitMs: number;
  overheadMs: number;
};

/**
 * The first activity of `type` in a history: when the workflow started and when the activity was scheduled, started
 * in a worker (its last attempt) and closed, in ms since the epoch; undefined if it has not closed.
 */
export function activitySpan(events: Event[], type: string) {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  for (const event of events) {
    const closed = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes;
    const scheduled = closed && byId.get(Number(closed.scheduledEventId))!;
    if (scheduled?.activityTaskScheduledEventAttributes!.activityType!.name !== type) continue;
    const started = byId.get(Number(closed!.startedEventId))!;
    return { workflowStarted: ms(events[0]), scheduled: ms(scheduled), started: ms(started), closed: ms(event) };
  }
  return undefined;
}

export function overheadOf(events: Event[]): Overhead {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const activities: Overhead['activities'] = {};
  const running: [number, number][] = [];
  const waiting: [number, number][] = [];
  let scheduleToStartMs = 0;
  let workflowTaskMs = 0;
  let workflowTaskDispatchMs = 0;
  let firstWorkflowTaskMs = 0;
  let workflowTasks = 0;
  let lastActivityEnd = ms(events[0]);
  for (const event of events) {
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskCanceledEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    if (closed) {
      const started = byId.get(Number(closed.startedEventId))!;
      const scheduled = byId.get(Number(closed.scheduledEventId))!;
      const type = scheduled.activityTaskScheduledEventAttributes!.activityType!.name!;
      const run = ms(event) - ms(started);
      const waited = ms(started) - ms(scheduled);
      const { count = 0, ms: summed = 0, scheduleToStartMs: summedWait = 0, retries = 0 } = activities[type] ?? {};
      const attempt = started.activityTaskStartedEventAttributes!.attempt ?? 1;
      activities[type] = {
        count: count + 1,
        ms: summed + run,
        scheduleToStartMs: summedWait + waited,
        retries: retries + attempt - 1,
      };
      running.push([ms(started), ms(event)]);
      scheduleToStartMs += waited;
      lastActivityEnd = Math.max(lastActivityEnd, ms(event));
    }
    const task = event.workflowTaskCompletedEventAttributes;
    if (task) {
      const taskMs = ms(event) - ms(byId.get(Number(task.scheduledEventId))!);
      workflowTaskMs += taskMs;
      workflowTaskDispatchMs +=
        ms(byId.get(Number(task.startedEventId))!) - ms(byId.get(Number(task.scheduledEventId))!);
      if (workflowTasks++ === 0) firstWorkflowTaskMs = taskMs;
    }
    // A sign-off: the time since the stage before it ended was spent waiting for a person.
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      waiting.push([lastActivityEnd, ms(event)]);
    }
  }
  const wallMs = ms(events.at(-1)!) - ms(events[0]);
  const activityMs = lengthOfUnion(running);
  // The wait, less any activity that ran during it (a webhook delivery sent as the job began to wait).
  const accountedMs = lengthOfUnion([...running, ...waiting]);
  const humanWaitMs = accountedMs - activityMs;
  return {
    wallMs,
    activityMs,
    activities,
    scheduleToStartMs,
    workflowTaskMs,
    workflowTaskDispatchMs,
    firstWorkflowTaskMs,
    workflowTasks,
    humanWaitMs,
    overheadMs: wallMs - accountedMs,
  };
}

/** The length of the union of the intervals [from, to]. */
function lengthOfUnion(intervals: [number, number][]): number {
  let length = 0;
  let end = -Infinity;
  for (const [from, to] of [...intervals].sort((a, b) => a[0] - b[0])) {
    length += Math.max(0, to - Math.max(from, end));
    end = Math.max(end, to);
  }
  return length;
}

/**
 * A ledger writer's history (workflows/ledger-writer.ts): appends answered, the summed time from an append's update
 * accepted to its answer, and the writer's `appendLedgerEntriesAfter` batches with their schedule-to-start and run time.
 */
export function writerSpansOf(events: Event[]) {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const accepted = new Map<string, number>();
  let updates = 0;
  let updateMs = 0;
  let batches = 0;
  let scheduleToStartMs = 0;
  let activityMs = 0;
  for (const event of events) {
    const acceptedAttributes = event.workflowExecutionUpdateAcceptedEventAttributes;
    if (acceptedAttributes) accepted.set(acceptedAttributes.protocolInstanceId!, ms(event));
    const completed = event.workflowExecutionUpdateCompletedEventAttributes;
    if (completed) {
      updates++;
      updateMs += ms(event) - accepted.get(completed.meta!.updateId!)!;
    }
    const closed = event.activityTaskCompletedEventAttributes;
    const scheduled = closed && byId.get(Number(closed.scheduledEventId))!;
    if (scheduled?.activityTaskScheduledEventAttributes!.activityType!.name !== 'appendLedgerEntriesAfter') continue;
    const started = byId.get(Number(closed!.startedEventId))!;
    batches++;
    scheduleToStartMs += ms(started) - ms(scheduled);
    activityMs += ms(event) - ms(started);
  }
  return { updates, updateMs, batches, scheduleToStartMs, activityMs };
}

export function printOverhead(o: Overhead) {
  const f = (x: number) => `${x.toFixed(0).padStart(7)} ms`;
  console.log(`workflow wall time ${f(o.wallMs)}`);
  for (const [type, a] of Object.entries(o.activities)) {
    const retries = a.retries ? `, ${a.retries} retries` : '';
    console.log(
      `  ${type.padEnd(24)} ${f(a.ms)}  (${a.count}×${retries}; schedule-to-start ${a.scheduleToStartMs.toFixed(0)} ms)`,
    );
  }
  console.log(`activities ran     ${f(o.activityMs)}`);
  console.log(`waiting for sign-off ${f(o.humanWaitMs).trimStart()}`);
  console.log(
    `overhead           ${f(o.overheadMs)}  (${((100 * o.overheadMs) / (o.wallMs - o.humanWaitMs)).toFixed(1)} % of the job without the wait)`,
  );
  console.log(`  activity schedule-to-start ${f(o.scheduleToStartMs).trimStart()}`);
  console.log(
    `  workflow tasks             ${f(o.workflowTaskMs).trimStart()}  (${o.workflowTasks}×; waiting for a poll ${o.workflowTaskDispatchMs.toFixed(0)} ms; the first ${o.firstWorkflowTaskMs.toFixed(0)} ms)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: npx tsx bench/job-overhead.ts HISTORY.json');
    process.exit(2);
  }
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path, 'utf8')));
  console.log(`history            ${path} (${history.events.length} events)`);
  printOverhead(overheadOf(history.events));
}
