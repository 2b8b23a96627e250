import { ApplicationFailure } from '@temporalio/activity';
import { InvalidInput } from '../engine/invalid-input.ts';

// The engine says "this input is wrong" with InvalidInput (engine/invalid-input.ts). An activity hands that on as a
// non-retryable failure, so the job fails once with the engine's message instead of after every retry; any other
// error (S3, disk, a worker crash) is rethrown as it is and retried by the workflow's policy.

/**
 * Rethrows `error`, as a non-retryable ApplicationFailure (type: the error's name) when it is an InvalidInput;
 * `about` prefixes its message where the engine's alone would not say which input it means.
 */
export function failOnInvalidInput(error: unknown, about?: string): never {
  if (error instanceof InvalidInput) {
    throw ApplicationFailure.nonRetryable(about ? `${about}: ${error.message}` : error.message, error.name);
  }
  throw error;
}
