// Keeps one of the dev stack's servers running: when it dies on its own (SIGKILL, out of memory, a crash), it is
// started again on the same ports and data, so workflows, checkpoints and objects carry on where they were; workers
// and API clients reconnect by themselves. A server that keeps dying is not restarted for ever: past `max` restarts
// in `windowMs` the stack stops and says why, as a half-running stack misleads.
import { describeExit, tail, type ManagedProcess } from './process.ts';

export type RestartPolicy = { max: number; windowMs: number };

export type Supervised = {
  /** Stops whichever process is current; a restart under way is stopped once it has started. */
  stop(): Promise<void>;
};

export function supervise(
  first: ManagedProcess,
  options: {
    /** Starts the server again, on the ports and directory it had. */
    restart: () => Promise<ManagedProcess>;
    policy: RestartPolicy;
    /** Aborted when the stack stops: an exit after it is expected, and no restart follows. */
    stopping: AbortSignal;
    say: (line: string) => void;
    fail: (message: string) => void;
  },
): Supervised {
  const { restart, policy, stopping, say, fail } = options;
  let current = first;
  let restarting: Promise<void> | undefined;
  const restartTimes: number[] = [];

  const watch = (child: ManagedProcess) => {
    void child.exited.then((exit) => {
      if (stopping.aborted) return;
      const why = `${child.name} exited unexpectedly (${describeExit(exit)}). Last lines of ${child.logFile}:\n${tail(child.logFile)}`;
      const now = Date.now();
      while (restartTimes.length > 0 && restartTimes[0] <= now - policy.windowMs) restartTimes.shift();
      if (restartTimes.length >= policy.max) {
        const tried =
          policy.max === 0 ? '' : `\n(restarted ${policy.max} times within ${policy.windowMs / 60_000} min)`;
        fail(`${why}${tried}`);
        return;
      }
      restartTimes.push(now);
      say(`${why}`);
      say(`restarting ${child.name} on the same ports and data (${restartTimes.length} of ${policy.max})`);
      restarting = restart().then(
        async (next) => {
          current = next;
          if (stopping.aborted) return next.stop();
          say(`${next.name} restarted (pid ${next.pid})`);
          watch(next);
        },
        (error: Error) => fail(`${child.name} could not be restarted: ${error.message}`),
      );
    });
  };
  watch(first);

  return {
    async stop() {
      await restarting;
      await current.stop();
    },
  };
}
