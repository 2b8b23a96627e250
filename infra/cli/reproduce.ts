// `ratchet reproduce MODEL@VERSION`: re-run a registry version's training from its lineage on a worker (POST
// /v1/models/{model}/versions/{version}/reproduce), follow it, and say whether model.onnx came out byte for byte
// the same. Exit 0 when it did; 1 with the differing inputs named when it did not.
import { apiCommand, required } from './command.ts';

const usage = `usage: ratchet reproduce MODEL@VERSION [--json] [--timeout SECONDS]   (needs an approver's RATCHET_API_KEY)
  re-runs the version's training (CPU, its recorded seed and threads) and compares the bytes; exit 0 when they
  match, 1 naming each input (train, eval, base_model, teacher) that differs from the lineage
environment: RATCHET_API_URL, RATCHET_API_KEY`;

type Input = { name: string; recorded_sha256: string; found_sha256: string | null; ok: boolean; source?: string };
type Reproduction = {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  progress?: { stage: string; step: number; totalSteps: number };
  error: string | null;
  report: {
    reproduced: boolean;
    model_sha256: { recorded: string; rebuilt: string | null };
    inputs: Input[];
    code: { recorded: string; current: string; same: boolean };
    summary: string;
  } | null;
};

export function run(args: string[]): Promise<number> {
  return apiCommand(
    'reproduce',
    usage,
    args,
    { timeout: { type: 'string' } },
    async ({ api, values, positionals, print }) => {
      const target = required(positionals, 0, 'MODEL@VERSION');
      const match = /^([a-z0-9-]+)[@:]([1-9]\d{0,7})$/.exec(target);
      if (!match) throw new Error(`expected MODEL@VERSION such as iris@3, not ${JSON.stringify(target)}`);
      const [, model, version] = match;
      const timeoutMs = Number(values.timeout ?? 3600) * 1000;
      let reply = await api.request<Reproduction>(
        'POST',
        `/v1/models/${encodeURIComponent(model)}/versions/${version}/reproduce`,
      );
      const deadline = Date.now() + timeoutMs;
      let shown = '';
      while (reply.status === 'running') {
        if (Date.now() > deadline) throw new Error(`${reply.id} still running after ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        reply = await api.request<Reproduction>('GET', `/v1/reproductions/${encodeURIComponent(reply.id)}`);
        const p = reply.progress;
        const line = p ? `${p.stage} step ${p.step}/${p.totalSteps}` : '';
        if (line && line !== shown && !values.json) process.stderr.write(`${line}\n`);
        shown = line;
      }
      if (reply.status === 'failed' || !reply.report) throw new Error(`${reply.id} failed: ${reply.error ?? '?'}`);
      const report = reply.report;
      print(reply, () => {
        const lines = [
          `${model}@${version}: ${report.reproduced ? 'reproduced' : 'NOT reproduced'}: ${report.summary}`,
          `model.onnx  recorded ${report.model_sha256.recorded}`,
          `            rebuilt  ${report.model_sha256.rebuilt ?? '(not rebuilt)'}`,
          ...report.inputs.map(
            (i) =>
              `${i.ok ? 'same   ' : 'DIFFERS'} ${i.name.padEnd(10)} recorded ${i.recorded_sha256.slice(0, 12)} found ${i.found_sha256?.slice(0, 12) ?? '(missing)'}${i.source ? ` at ${i.source}` : ''}`,
          ),
          `${report.code.same ? 'same   ' : 'DIFFERS'} code       recorded ${report.code.recorded}, now ${report.code.current}`,
        ];
        return lines.join('\n');
      });
      return report.reproduced ? 0 : 1;
    },
  );
}
