// `ratchet schedules [list | pause NAME | unpause NAME | trigger NAME | delete NAME]`. Creating one takes the
// API's JSON body: `ratchet schedules create --body FILE`.
import { readFile } from 'node:fs/promises';
import { apiCommand, required, table } from './command.ts';

type Schedule = { name: string; paused: boolean; when: unknown; next_action_times: string[] };

const usage = `usage: ratchet schedules [subcommand] [--json]
  list                       the schedules (the default)
  create --body FILE         FILE holds the API's schedule JSON
  pause|unpause NAME [--note TEXT]
  trigger NAME               start a run now
  delete NAME
environment: RATCHET_API_URL, RATCHET_API_KEY`;

export function run(args: string[]): Promise<number> {
  const options = { body: { type: 'string' }, note: { type: 'string' } } as const;
  return apiCommand('schedules', usage, args, options, async ({ api, values, positionals, print }) => {
    const [sub = 'list'] = positionals;
    const path = () => `/v1/schedules/${encodeURIComponent(required(positionals, 1, 'NAME'))}`;
    switch (sub) {
      case 'list': {
        const reply = await api.request<{ data: Schedule[] }>('GET', '/v1/schedules');
        print(reply, () =>
          table(
            ['NAME', 'PAUSED', 'WHEN', 'NEXT'],
            reply.data.map((s) => [s.name, String(s.paused), JSON.stringify(s.when), s.next_action_times[0] ?? '-']),
          ),
        );
        return 0;
      }
      case 'create': {
        if (typeof values.body !== 'string') throw new Error('create needs --body FILE');
        const json = JSON.parse(await readFile(values.body, 'utf8'));
        const reply = await api.request<{ name: string }>('POST', '/v1/schedules', { json });
        print(reply, () => `created schedule ${reply.name}`);
        return 0;
      }
      case 'pause':
      case 'unpause': {
        const note = typeof values.note === 'string' ? values.note : '';
        const reply = await api.request<unknown>('POST', `${path()}/${sub}`, { json: { note } });
        print(reply, () => `${sub}d ${positionals[1]}`);
        return 0;
      }
      case 'trigger': {
        const reply = await api.request<unknown>('POST', `${path()}/trigger`);
        print(reply, () => `triggered ${positionals[1]}`);
        return 0;
      }
      case 'delete': {
        const reply = await api.request<unknown>('DELETE', path());
        print(reply, () => `deleted ${positionals[1]}`);
        return 0;
      }
      default:
        throw new Error(`unknown subcommand '${sub}' (see --help)`);
    }
  });
}
