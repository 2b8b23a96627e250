import { ApplicationFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { validationOptions } from './activity-options.ts';
import type { ValidateDatasetInput, ValidateDatasetResult, ValidationSummary } from '../core/jobs/stages.ts';

// Pipeline step 1 on its own: validate the dataset files, leave the report in S3, and fail the workflow
// (for good, with the report's key) when the report has blocking findings.

export type ValidationStatus =
  | { state: 'validating' }
  | { state: 'passed' | 'failed'; reportKey: string; summary: ValidationSummary }
  | { state: 'error'; message: string };

export const validationStatusQuery = defineQuery<ValidationStatus>('validationStatus');

const { validateDataset } = proxyActivities<Pick<Activities, 'validateDataset'>>(validationOptions);

export async function validateDatasetWorkflow(input: ValidateDatasetInput): Promise<ValidateDatasetResult> {
  let status: ValidationStatus = { state: 'validating' };
  setHandler(validationStatusQuery, () => status);

  let result: ValidateDatasetResult;
  try {
    result = await validateDataset(input);
  } catch (error) {
    status = { state: 'error', message: error instanceof Error ? error.message : String(error) };
    throw error;
  }
  status = { state: result.passed ? 'passed' : 'failed', reportKey: result.reportKey, summary: result.summary };
  if (!result.passed) {
    throw ApplicationFailure.create({
      type: 'DatasetValidationFailed',
      message: `dataset validation found blocking problems (${result.summary.blockingCodes.join(', ')}); report: ${result.reportKey}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}
