// Orchestration overhead of one fineTuneJob, read from its event history: the workflow's wall time minus the time
// its activities ran (started -> closed, in a worker) minus the time it waited for a person's decision. What is
// left is Temporal's and the workflow's own cost: task dispatch (schedule-to-start), workflow tasks, timers.
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
  activityMs: number;
  /** Activities by type: count, summed run time (of the last attempt) and attempts beyond the first. */
  activities: Record<string, { count: number; ms: number; retries: number }>;
  /** Scheduled -> started, summed: time an activity task waited for a worker. */
  scheduleToStartMs: number;
  /** Workflow tasks, scheduled -> completed, summed: dispatch plus running the workflow code. */
  workflowTaskMs: number;
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
  let activityMs = 0;
  let scheduleToStartMs = 0;
  let humanWaitMs = 0;
  let workflowTaskMs = 0;
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
      const { count = 0, ms: summed = 0, retries = 0 } = activities[type] ?? {};
      const attempt = started.activityTaskStartedEventAttributes!.attempt ?? 1;
      activities[type] = { count: count + 1, ms: summed + run, retries: retries + attempt - 1 };
      activityMs += run;
      scheduleToStartMs += ms(started) - ms(scheduled);
      lastActivityEnd = ms(event);
    }
    const task = event.workflowTaskCompletedEventAttributes;
    if (task) {
      workflowTaskMs += ms(event) - ms(byId.get(Number(task.scheduledEventId))!);
      workflowTasks++;
    }
    // A sign-off: the time since the stage before it ended was spent waiting for a person.
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
      humanWaitMs += ms(event) - lastActivityEnd;
    }
  }
  const wallMs = ms(events.at(-1)!) - ms(events[0]);
  return {
    wallMs,
    activityMs,
    activities,
    scheduleToStartMs,
    workflowTaskMs,
    workflowTasks,
    humanWaitMs,
    overheadMs: wallMs - activityMs - humanWaitMs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: npx tsx bench/job-overhead.ts HISTORY.json');
    process.exit(2);
  }
  const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path, 'utf8')));
  const o = overheadOf(history.events);
  const f = (x: number) => `${x.toFixed(0).padStart(7)} ms`;
  console.log(`history            ${path} (${history.events.length} events)`);
  console.log(`workflow wall time ${f(o.wallMs)}`);
  for (const [type, a] of Object.entries(o.activities)) {
    console.log(`  ${type.padEnd(18)} ${f(a.ms)}  (${a.count}×${a.retries ? `, ${a.retries} retries` : ''})`);
  }
  console.log(`activities, total  ${f(o.activityMs)}`);
  console.log(`waiting for sign-off ${f(o.humanWaitMs).trimStart()}`);
  console.log(
    `overhead           ${f(o.overheadMs)}  (${((100 * o.overheadMs) / (o.wallMs - o.humanWaitMs)).toFixed(1)} % of the job without the wait)`,
  );
  console.log(`  activity schedule-to-start ${f(o.scheduleToStartMs).trimStart()}`);
  console.log(`  workflow tasks             ${f(o.workflowTaskMs).trimStart()}  (${o.workflowTasks}×)`);
}
