import { readFileSync } from 'node:fs';

// The Node flags the Helm chart starts each worker with (workers.<queue>.nodeOptions, deploy/helm/ratchet/values.yaml),
// read from the chart itself so that `ratchet dev --cluster` and the benches run their worker processes as a cluster
// does, and cannot drift from it.

/** The Node flags the Helm chart gives the worker of `queue`. */
export function chartNodeOptions(queue: string): string {
  const values = readFileSync(new URL('../../deploy/helm/ratchet/values.yaml', import.meta.url), 'utf8');
  const worker = values
    .split(/^workers:$/m)[1]
    ?.split(new RegExp(`^  ${queue}:$`, 'm'))[1]
    ?.split(/^ {0,2}\S/m)[0];
  const found = worker?.match(/^ {4}nodeOptions: *(.*)$/m);
  if (!found) throw new Error(`deploy/helm/ratchet/values.yaml has no workers.${queue}.nodeOptions`);
  return found[1].replace(/^(['"])(.*)\1$/, '$2');
}
