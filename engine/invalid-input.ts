// The one way the engine says "this input is wrong": data that does not parse, a model that does not fit the data
// or the method, settings out of range. Running the same job again gives the same error, so the activities turn it
// into a non-retryable failure (activities/invalid-input.ts); anything else (I/O, S3, a crash) stays retryable.

/** Bad input from the job's files, model or settings; retrying with the same input cannot succeed. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
}
