// `ratchet keys [list | create USER --roles a,b [--tenant T] | revoke KEY_ID]` (an admin's key).
import { apiCommand, required, table } from './command.ts';

type KeyInfo = { id: string; user: string; roles: string[]; createdAt: string; revokedAt: string | null };

const usage = `usage: ratchet keys [subcommand] [--json]
  list                                   the tenant's keys (the default)
  create USER --roles ROLE[,ROLE] [--tenant TENANT]
                                         roles: viewer, submitter, approver, admin; prints the secret once
  revoke KEY_ID
environment: RATCHET_API_URL, RATCHET_API_KEY (an admin's)`;

export function run(args: string[]): Promise<number> {
  const options = { roles: { type: 'string' }, tenant: { type: 'string' } } as const;
  return apiCommand('keys', usage, args, options, async ({ api, values, positionals, print }) => {
    const [sub = 'list'] = positionals;
    switch (sub) {
      case 'list': {
        const reply = await api.request<{ data: KeyInfo[] }>('GET', '/v1/keys');
        print(reply, () =>
          table(
            ['ID', 'USER', 'ROLES', 'CREATED', 'REVOKED'],
            reply.data.map((k) => [k.id, k.user, k.roles.join(','), k.createdAt, k.revokedAt ?? '-']),
          ),
        );
        return 0;
      }
      case 'create': {
        const user = required(positionals, 1, 'USER');
        if (typeof values.roles !== 'string') throw new Error('create needs --roles ROLE[,ROLE]');
        const json = {
          user,
          roles: values.roles.split(',').map((r) => r.trim()),
          ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
        };
        const reply = await api.request<{ key: string; info: KeyInfo }>('POST', '/v1/keys', { json });
        print(reply, () => `${reply.key}\n(key id ${reply.info.id}; the secret is not shown again)`);
        return 0;
      }
      case 'revoke': {
        const id = required(positionals, 1, 'KEY_ID');
        const reply = await api.request<KeyInfo>('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
        print(reply, () => `revoked ${reply.id}`);
        return 0;
      }
      default:
        throw new Error(`unknown subcommand '${sub}' (see --help)`);
    }
  });
}
