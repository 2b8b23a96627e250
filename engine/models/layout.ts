// The interface every classifier in the engine has: one float input and one output of raw scores. Imported
// models are renamed to it, exported models keep it, so the trainer, exporter and `ratchet eval` agree.
export const FEATURES = 'features';
export const LOGITS = 'logits';

// metadata_props keys written on export and read on import.
export const LABELS_KEY = 'ratchet.labels';
export const LINEAGE_KEY = 'ratchet.lineage';
/**
 * 'train' when the model's Dropout nodes drop while it trains (engine/train/dropout.ts), as a pretrained BERT's do;
 * without it a Dropout node is the identity, in training too (as in a model torch.onnx.export wrote in eval mode).
 */
export const DROPOUT_MODE_KEY = 'ratchet.dropout';
/** A pretrained base model's provenance (models/bert-base.ts), kept by the models fine-tuned from it. */
export const PRETRAINED_KEY = 'ratchet.pretrained';
