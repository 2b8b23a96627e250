// Dispatches `ratchet <command>` to the module that owns it. Modules are imported lazily so that
// `ratchet train` never loads Temporal and `ratchet dev` never loads ONNX Runtime.
// Each command module exports `run(args: string[]): Promise<number>` (the process exit code).
type CommandModule = { run: (args: string[]) => Promise<number> };
type Command = { summary: string; load: () => Promise<CommandModule> };

const commands: Record<string, Command> = {
  // Entries are added here as the owning modules land, e.g.
  // dev: { summary: 'start the local stack', load: () => import('./dev.ts') },
  dev: {
    summary: 'run the whole stack on this machine (npm start; --cluster: Temporal on PostgreSQL, processes apart)',
    load: () => import('./dev.ts'),
  },
  worker: { summary: 'run the Temporal workers alone (cluster)', load: () => import('./worker.ts') },
  api: { summary: 'serve the HTTP API alone (cluster; workers run elsewhere)', load: () => import('./api.ts') },
  edge: { summary: "serve the API's edge entry in workerd (Temporal over HTTP)", load: () => import('./workerd.ts') },
  provision: {
    summary: 'make sure the Temporal and S3 server binaries exist (--cluster: the Temporal server too)',
    load: () => import('./provision.ts'),
  },
  train: {
    summary: 'train or fine-tune a classifier on JSONL features or text',
    load: () => import('./cli/train.ts'),
  },
  eval: { summary: 'score a classifier ONNX model on a JSONL file', load: () => import('./cli/eval.ts') },
  distill: {
    summary: "train a compact student on a teacher model's soft targets",
    load: () => import('./cli/distill.ts'),
  },
  validate: {
    summary: "validate a JSONL dataset (the pipeline's first step) on local files",
    load: () => import('./cli/validate.ts'),
  },
  demo: {
    summary: 'the story in one command: stack, corpus, v1, a job on new data, sign-off, deploy (npm run demo)',
    load: () => import('./demo/run.ts'),
  },
  jobs: {
    summary: 'fine-tuning jobs through the API: create, list, get, watch, cancel',
    load: () => import('./cli/jobs.ts'),
  },
  approve: {
    summary: 'approve a job awaiting sign-off, with a reason',
    load: async () => (await import('./cli/decide.ts')).approve,
  },
  reject: {
    summary: 'reject a job awaiting sign-off, with a reason',
    load: async () => (await import('./cli/decide.ts')).reject,
  },
  reproduce: {
    summary: "re-run a model version's training from its lineage and compare the bytes (exit 1 naming what differs)",
    load: () => import('./cli/reproduce.ts'),
  },
  tokenize: {
    summary: "a pretrained model's token ids for each text of a JSONL file",
    load: async () => (await import('./cli/pretrained.ts')).tokenize,
  },
  embed: {
    summary: "a pretrained model's sentence embedding for each text of a JSONL file",
    load: async () => (await import('./cli/pretrained.ts')).embed,
  },
  models: { summary: 'models, versions, cards, promote, rollback', load: () => import('./cli/models.ts') },
  schedules: {
    summary: 'job schedules: list, create, pause, unpause, trigger, delete',
    load: () => import('./cli/schedules.ts'),
  },
  keys: { summary: 'API keys (admin): list, create, revoke', load: () => import('./cli/keys.ts') },
  audit: { summary: "verify the audit ledger's hash chain", load: () => import('./cli/audit.ts') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return ['usage: ratchet <command> [options]', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`ratchet: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}
