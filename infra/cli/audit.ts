// `ratchet audit verify`: the ledger's hash chain checked by the server; exit 1 when it is broken.
import { apiCommand } from './command.ts';

const usage = `usage: ratchet audit verify [--json]   (exit 0 when the chain holds, 1 when it does not)
environment: RATCHET_API_URL, RATCHET_API_KEY`;

export function run(args: string[]): Promise<number> {
  return apiCommand('audit', usage, args, {}, async ({ api, positionals, print }) => {
    if (positionals[0] !== 'verify') throw new Error(`unknown subcommand '${positionals[0] ?? ''}' (see --help)`);
    const reply = await api.request<{ ok: boolean; entries: number; problems: unknown[] }>('GET', '/v1/audit/verify');
    print(reply, () =>
      reply.ok
        ? `ledger verified: ${reply.entries} entries, chain intact`
        : `ledger BROKEN: ${reply.problems.length} problem(s)\n${reply.problems.map((p) => `  ${JSON.stringify(p)}`).join('\n')}`,
    );
    return reply.ok ? 0 : 1;
  });
}
