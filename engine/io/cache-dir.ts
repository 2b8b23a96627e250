import os from 'node:os';
import path from 'node:path';

/** Where Ratchet keeps what it builds or fetches once per machine: $RATCHET_CACHE_DIR, $XDG_CACHE_HOME/ratchet, ~/.cache/ratchet. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RATCHET_CACHE_DIR) return path.resolve(env.RATCHET_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'ratchet');
  return path.join(os.homedir(), '.cache', 'ratchet');
}
