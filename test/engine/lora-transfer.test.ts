// The transfer story on real data (SpamAssassin, bench/transfer-story.ts), short: a base model from period 1,
// fine-tuned on 300 labelled period-2 messages, must score better on the held-out rest of period 2.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accuracyOn,
  freshMlp,
  loadTransferData,
  trainWith,
  type TransferData,
  type Trained,
} from '../../bench/transfer-story.ts';

const WIDTH = 512;
let data: TransferData;
let base: Trained;
let baseAccuracy: number;

beforeAll(async () => {
  data = loadTransferData({ width: WIDTH, sampleSize: 300, seed: 1 });
  base = await trainWith(freshMlp(WIDTH), 'full', data.period1, { batchSize: 32, epochs: 4, lr: 3e-3 });
  baseAccuracy = await accuracyOn(base.model, data.heldOut);
}, 60_000);

describe('fine-tuning on a period-2 sample (SpamAssassin)', () => {
  it('keeps period 2 out of the sample it tunes on', () => {
    expect(data.sample.rows).toBe(300);
    expect(data.heldOut.rows).toBe(1400 + 1396 - 300);
  });

  for (const method of ['full', 'lora:4,alpha=8']) {
    it(`${method}: beats the base model on held-out period 2`, async () => {
      const tuned = await trainWith(base.model, method, data.sample, { batchSize: 16, epochs: 5, lr: 5e-3 });
      const tunedAccuracy = await accuracyOn(tuned.model, data.heldOut);
      expect(baseAccuracy).toBeGreaterThan(0.8); // the base model is a real spam filter, not chance
      expect(tunedAccuracy).toBeGreaterThan(baseAccuracy);
    });
  }
});
