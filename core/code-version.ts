// The code a worker runs, as a version's lineage records it: the package version and, where it is known, the git
// commit (`0.1.0+<sha>`). The commit comes from RATCHET_CODE_COMMIT (set it where the image is built, which has no
// .git), else from `git rev-parse HEAD` in the checkout the worker runs from; without either it is the package
// version alone. Uncommitted changes are not seen: a byte-for-byte reproduction needs the commit checked out clean.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pkg from '../package.json' with { type: 'json' };

let cached: string | undefined;

export function codeVersion(env: NodeJS.ProcessEnv = process.env): string {
  const commit = env.RATCHET_CODE_COMMIT?.trim() || (cached ??= gitCommit() ?? '');
  return commit ? `${pkg.version}+${commit}` : pkg.version;
}

function gitCommit(): string | undefined {
  try {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: 'pipe' }).trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}
