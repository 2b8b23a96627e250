import type { Progress } from '../../engine/train/trainer.ts';

const WIDTH = 24;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A one-line progress bar redrawn in place on `stream`, when it is a terminal (piped output stays clean for
 * scripts). Returns the progress callback and a function that ends the line.
 */
export function progressBar(stream: NodeJS.WriteStream): { update: (p: Progress) => void; done: () => void } {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let drawn = false;
  let lastEval = '';
  return {
    update(p) {
      if (p.eval) lastEval = ` eval ${p.eval.loss.toFixed(4)}`;
      const filled = Math.round((WIDTH * p.step) / p.totalSteps);
      const eta = p.step > 0 ? (p.elapsedMs / p.step) * (p.totalSteps - p.step) : 0;
      const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
      stream.write(
        `\r${bar} ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${p.loss.toFixed(4)}${lastEval} eta ${duration(eta)}\x1b[K`,
      );
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}
