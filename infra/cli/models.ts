// `ratchet models [list | versions MODEL | card MODEL VERSION | promote MODEL VERSION | rollback MODEL]`.
import { apiCommand, required, table } from './command.ts';

const usage = `usage: ratchet models [subcommand] [--json]
  list                          the models and their production version (the default)
  versions MODEL                versions with lineage
  card MODEL VERSION            the model card (markdown)
  promote MODEL VERSION --reason TEXT
  rollback MODEL --reason TEXT  production back to the previous version
environment: RATCHET_API_URL, RATCHET_API_KEY`;

export function run(args: string[]): Promise<number> {
  return apiCommand(
    'models',
    usage,
    args,
    { reason: { type: 'string' } },
    async ({ api, values, positionals, print }) => {
      const [sub = 'list'] = positionals;
      const model = () => encodeURIComponent(required(positionals, 1, 'MODEL'));
      const reason = () => {
        if (typeof values.reason !== 'string') throw new Error(`${sub} needs --reason TEXT`);
        return values.reason;
      };
      switch (sub) {
        case 'list': {
          // The architectures a job trains from scratch, then each version of the tenant's models as name:version.
          const reply = await api.request<{ data: { id: string; created: number; owned_by: string }[] }>(
            'GET',
            '/v1/models',
          );
          const names = [...new Set(reply.data.flatMap((m) => (m.id.includes(':') ? [m.id.split(':')[0]] : [])))];
          const production = new Set(
            await Promise.all(
              names.map(async (name) => {
                const aliases = await api.request<{ production: { version: number } | null }>(
                  'GET',
                  `/v1/models/${encodeURIComponent(name)}/aliases`,
                );
                return aliases.production && `${name}:${aliases.production.version}`;
              }),
            ),
          );
          print(reply, () =>
            table(
              ['MODEL', 'OWNER', 'CREATED', 'PRODUCTION'],
              reply.data.map((m) => [
                m.id,
                m.owned_by,
                m.created ? new Date(m.created * 1000).toISOString() : '-',
                production.has(m.id) ? 'production' : '',
              ]),
            ),
          );
          return 0;
        }
        case 'versions': {
          const reply = await api.request<{
            data: { version: number; created: string; submitter: string; job_id: string }[];
          }>('GET', `/v1/models/${model()}/versions`);
          print(reply, () =>
            table(
              ['VERSION', 'CREATED', 'SUBMITTER', 'JOB'],
              reply.data.map((v) => [`v${v.version}`, v.created, v.submitter, v.job_id]),
            ),
          );
          return 0;
        }
        case 'card': {
          const version = required(positionals, 2, 'VERSION');
          const path = `/v1/models/${model()}/versions/${encodeURIComponent(version)}/card`;
          const card = await api.request<unknown>('GET', values.json ? path : `${path}?format=markdown`);
          print(card, () => String(card));
          return 0;
        }
        case 'promote': {
          const version = Number(required(positionals, 2, 'VERSION'));
          const reply = await api.request<unknown>('POST', `/v1/models/${model()}/promote`, {
            json: { version, reason: reason() },
          });
          print(reply, () => `production is v${version}`);
          return 0;
        }
        case 'rollback': {
          const reply = await api.request<unknown>('POST', `/v1/models/${model()}/rollback`, {
            json: { reason: reason() },
          });
          print(reply, () => `rolled back: ${JSON.stringify(reply)}`);
          return 0;
        }
        default:
          throw new Error(`unknown subcommand '${sub}' (see --help)`);
      }
    },
  );
}
