import { ApplicationFailure } from '@temporalio/activity';
import type { ValidationReport } from '../governance/dataset/validate.ts';
import { codeVersion } from '../core/code-version.ts';
import { renderModelCard, type ModelCardInput } from '../governance/card.ts';
import { gate } from '../governance/gate.ts';
import { durationMs, InvalidGatePolicy, parseGatePolicy } from '../governance/gate-policy.ts';
import type { ResolvedBaseModel } from '../core/base-model.ts';
import { currentJobId } from './job-id.ts';
import { objectKey, parseObjectKey, type ObjectStore } from '../core/object-store.ts';
import { Registry } from '../core/registry/registry.ts';
import type { DistillResult, GateInput, GateOutput, TrainingSpec } from '../core/jobs/stages.ts';

// The gate stage: the policy's verdict per rule, and the model card the approver reads before signing off.
// The card's inputs are kept next to the job, so the deploy stage writes the final card (with the approver)
// from the same facts.

export const cardInputKey = (jobId: string) => objectKey('jobs', jobId, 'card-input.json');

export function createGate(store: ObjectStore) {
  const registry = new Registry(store);
  return async function gateCandidate(input: GateInput): Promise<GateOutput> {
    const jobId = currentJobId();
    let policy;
    try {
      policy = parseGatePolicy(input.policy);
    } catch (error) {
      if (error instanceof InvalidGatePolicy) throw ApplicationFailure.nonRetryable(error.message, error.name);
      throw error;
    }
    const report = await store.getJson<ValidationReport>(parseObjectKey(input.validationReportKey));
    const { candidate, production, comparison, drift } = input.evaluation;
    const verdict = gate(policy, candidate, production?.evaluation, report, comparison);
    const cardInput: ModelCardInput = {
      model: input.model,
      // The version this job would get if it were registered now; deploy renders the card again with the real one.
      version: ((await registry.listVersions(input.model)).at(-1) ?? 0) + 1,
      created: input.created,
      owner: input.submitter,
      submitter: input.submitter,
      intendedUse: input.intendedUse,
      limitations: input.limitations,
      candidate,
      production,
      ...(comparison ? { comparison } : {}),
      ...(drift ? { drift } : {}),
      validation: { passed: report.passed, files: report.files, findings: report.findings, manifest: report.manifest },
      training: input.distillation
        ? distilledTraining(input.distillation, input.training, input.baseModel)
        : {
            method: input.training.method,
            ...(input.baseModel ? { base_model: input.baseModel } : {}),
            hyperparameters: { ...architectureOf(input.training), ...input.training.config },
            seed: input.training.config.seed,
            code_version: codeVersion(),
          },
      ...(input.distillation ? { distillation: cardDistillation(input.distillation) } : {}),
      policy,
      gate: verdict,
    };
    const card = renderModelCard(cardInput);
    const cardKeys = {
      markdown: objectKey('jobs', jobId, 'card.md'),
      json: objectKey('jobs', jobId, 'card.json'),
      input: cardInputKey(jobId),
    };
    await store.put(cardKeys.markdown, card.markdown, { contentType: 'text/markdown' });
    await store.putJson(cardKeys.json, card.json);
    await store.putJson(cardKeys.input, cardInput);
    return { gate: verdict, cardKeys, approvalTimeoutMs: durationMs(policy.approvalTimeout) };
  };
}

/** What was trained, as the card and lineage list it: the base model's layout, a text arch, or the MLP's widths. */
function architectureOf(training: TrainingSpec): Record<string, unknown> {
  if (training.base) return { arch: 'base' };
  if (training.text) return { arch: training.text.kind, text: training.text };
  return { hidden: training.hidden };
}

/** A student's training as the card and the registry's lineage (deploy copies it) state it: from the teacher. */
function distilledTraining(
  distilled: DistillResult,
  teacher: TrainingSpec,
  teacherBase: ResolvedBaseModel | undefined,
): ModelCardInput['training'] {
  return {
    method: 'distill',
    hyperparameters: {
      ...distilled.settings,
      teacher_sha256: distilled.teacherSha256,
      teacher: {
        ...architectureOf(teacher),
        method: teacher.method,
        ...(teacherBase ? { base_model: teacherBase } : {}),
        ...teacher.config,
      },
    },
    seed: teacher.config.seed,
    code_version: codeVersion(),
  };
}

function cardDistillation(distilled: DistillResult): NonNullable<ModelCardInput['distillation']> {
  return {
    teacher_sha256: distilled.teacherSha256,
    temperature: distilled.settings.temperature,
    alpha: distilled.settings.alpha,
    teacher: distilled.teacher,
    student: distilled.student,
  };
}
