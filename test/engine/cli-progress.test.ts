import { describe, expect, it } from 'vitest';
import { progressBar } from '../../infra/cli/progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
}

const progress = { step: 5, totalSteps: 10, epoch: 1, loss: 0.5, lr: 0.01, elapsedMs: 5000 };

describe('progress bar', () => {
  it('redraws one line in place on a terminal, with step, loss, eval loss and ETA', () => {
    const { stream, writes } = fakeStream(true);
    const bar = progressBar(stream);
    bar.update({ ...progress, eval: { step: 5, epoch: 1, loss: 0.25, logits: new Float32Array() } });
    bar.update({ ...progress, step: 10, elapsedMs: 10000 });
    bar.done();
    expect(writes[0]).toMatch(/^\r█{12}░{12} 5\/10 epoch 1 loss 0\.5000 eval 0\.2500 eta 5s/);
    expect(writes[1]).toMatch(/^\r█{24} 10\/10 .* eval 0\.2500 eta 0s/);
    expect(writes.at(-1)).toBe('\n');
  });

  it('writes nothing when the stream is not a terminal, so piped output stays clean', () => {
    const { stream, writes } = fakeStream(false);
    const bar = progressBar(stream);
    bar.update(progress);
    bar.done();
    expect(writes).toEqual([]);
  });
});
