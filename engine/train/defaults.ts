// What training takes per architecture when the caller does not say (AdamW, cosine decay to 0, batches of 32):
// `ratchet train`, `ratchet distill` and the distill stage share them. A module without imports, so the API reads
// it without loading the engine.
//   - fastText: its bag is a mean over thousands of sparse n-gram rows, each updated only by the texts holding it;
//     at lr 1e-3 it was still near chance after 10 epochs on 1,400 raw emails, at 1e-2 it beat TF-IDF + logistic
//     regression (docs/RESULTS.md).
//   - encoder: it reads 8 windows of a text, so an epoch costs 4 times what one 128-token window did; 5 epochs
//     scored as 10 did.
//   - threads: fastText's step is an embedding bag's Gather and its scatter-add, with kernels too small to split;
//     on two threads the scatter-add must be the slower deterministic ScatterElements (docs/ENGINE.md), and one
//     thread trained the default fastText 3x faster to the same bytes. The others' products gain from two.
export const TRAINING_DEFAULTS = {
  mlp: { lr: 1e-3, epochs: 10, threads: 2 },
  encoder: { lr: 1e-3, epochs: 5, threads: 2 },
  fasttext: { lr: 1e-2, epochs: 10, threads: 1 },
} as const;
