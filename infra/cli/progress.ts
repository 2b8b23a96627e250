// Training progress for `ratchet train` and `ratchet distill` (and the bytes `ratchet validate` has read), drawn by cli-progress: a bar redrawn in place (at most
// a few times a second) on a terminal, and a plain line every few seconds where nothing can be redrawn (a pipe, a
// CI log), so a long run shows it is alive wherever it runs.
import cliProgress from 'cli-progress';
import type { Progress } from '../../engine/train/trainer.ts';

/** How often a plain line is printed when the stream is not a terminal. */
export const PLAIN_EVERY_MS = 5_000;

export type ProgressBar = { update: (p: Progress) => void; done: () => void };

/** A cli-progress bar on `stream` with the payload fields `format` names: redrawn on a terminal, plain lines if not. */
function singleBar(stream: NodeJS.WriteStream, format: string, plainEveryMs: number) {
  return new cliProgress.SingleBar(
    {
      stream,
      format,
      barsize: 24,
      fps: 5,
      noTTYOutput: true,
      notTTYSchedule: plainEveryMs,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
}

/**
 * A progress display on `stream` for a run whose every step takes `examplesPerStep` training examples (batch size
 * times accumulation), for the examples/s figure.
 */
export function progressBar(
  stream: NodeJS.WriteStream,
  { examplesPerStep, plainEveryMs = PLAIN_EVERY_MS }: { examplesPerStep: number; plainEveryMs?: number },
): ProgressBar {
  const bar = singleBar(
    stream,
    '{bar} {value}/{total} epoch {epoch} loss {loss}{evalLoss} | {rate} ex/s | eta {eta_formatted}',
    plainEveryMs,
  );
  let first: Progress | undefined;
  let evalLoss = '';
  return {
    update(p) {
      if (p.eval) evalLoss = ` eval ${p.eval.loss.toFixed(4)}`;
      // Measured from the first step this process saw, so a resumed run's rate is not its whole history's.
      first ??= p;
      const seconds = (p.elapsedMs - first.elapsedMs) / 1000;
      const rate = seconds > 0 ? Math.round(((p.step - first.step) * examplesPerStep) / seconds) : 0;
      const payload = { epoch: p.epoch, loss: p.loss.toFixed(4), evalLoss, rate };
      if (first === p) bar.start(p.totalSteps, p.step, payload);
      else bar.update(p.step, payload);
    },
    done() {
      if (first) bar.stop();
    },
  };
}

/** What a job's status says of its training (GET /v1/fine_tuning/jobs/{id}: `ratchet.progress`). */
export type JobProgress = { step: number; total_steps: number; loss: number; eval_loss?: number };

/**
 * The training bar of a job followed through the API (`ratchet jobs watch`, the demo): step, loss and time left,
 * estimated here from how fast the steps arrive. `stop` ends it before the next stage's line.
 */
export function jobProgressBar(stream: NodeJS.WriteStream, plainEveryMs = PLAIN_EVERY_MS) {
  const bar = singleBar(stream, '{bar} {value}/{total} loss {loss}{evalLoss} | eta {eta_formatted}', plainEveryMs);
  let started = false;
  return {
    update(p: JobProgress) {
      const figure = (x: number | null | undefined) =>
        typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–';
      const payload = {
        loss: figure(p.loss),
        evalLoss: p.eval_loss === undefined ? '' : ` eval ${figure(p.eval_loss)}`,
      };
      if (!started) bar.start(p.total_steps, p.step, payload);
      else bar.update(p.step, payload);
      started = true;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/**
 * The bytes a validation has read of `totalBytes` (`ratchet validate`), in MB, with MB/s and the time left to read;
 * once all are read, the mislabel check's quick models train ('checking labels').
 */
export function bytesProgressBar(stream: NodeJS.WriteStream, totalBytes: number, plainEveryMs = PLAIN_EVERY_MS) {
  const bar = singleBar(stream, '{bar} {read}/{size} MB | {rate} MB/s | {phase}', plainEveryMs);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  let started: number | undefined;
  return {
    update(bytes: number) {
      const now = performance.now();
      const seconds = started === undefined ? 0 : (now - started) / 1000;
      const rate = seconds > 0 ? bytes / seconds : 0;
      const left = rate > 0 ? `eta ${Math.ceil((totalBytes - bytes) / rate)}s` : 'eta –';
      const payload = {
        read: mb(bytes),
        size: mb(totalBytes),
        rate: rate > 0 ? (rate / 1e6).toFixed(1) : '–',
        phase: bytes < totalBytes ? `reading, ${left}` : 'checking labels',
      };
      if (started === undefined) {
        started = now;
        bar.start(totalBytes, bytes, payload);
      } else bar.update(bytes, payload);
    },
    done() {
      if (started !== undefined) bar.stop();
    },
  };
}
