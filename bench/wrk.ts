// `wrk` against GET job status, for the benches that load the API (api-wrk, load), and the API's own count of the
// answers by status from /metrics. Asynchronous: an API answering wrk may run on the caller's event loop.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export type WrkOptions = { threads: string; connections: string; duration: string; key: string };

/**
 * `wrk --latency` GET `url` with the key; `ports`, when given, spreads its threads over those ports of the URL's
 * host (./wrk/spread.lua). Its report, and the figures read from it.
 */
export async function wrk(url: string, { threads, connections, duration, key }: WrkOptions, ports?: number[]) {
  const spread = ports ? ['-s', fileURLToPath(new URL('./wrk/spread.lua', import.meta.url))] : [];
  const args = [`-t${threads}`, `-c${connections}`, `-d${duration}`, '--latency', ...spread];
  const { stdout, stderr } = await promisify(execFile)('wrk', [...args, '-H', `Authorization: Bearer ${key}`, url], {
    encoding: 'utf8',
    env: { ...process.env, WRK_PORTS: (ports ?? []).join(',') },
  }).catch((error: Error) => {
    throw new Error(`wrk: ${error.message} (Debian: apt-get install -y wrk)`);
  });
  const report = stdout + stderr;
  const find = (pattern: RegExp) => pattern.exec(report)?.[1];
  return {
    report,
    command: `wrk ${args.join(' ')} ${url}`,
    requests: Number(find(/(\d+) requests in/)),
    perSecond: Number(find(/Requests\/sec:\s+([\d.]+)/)),
    p50: find(/^\s+50%\s+(\S+)/m),
    p90: find(/^\s+90%\s+(\S+)/m),
    p99: find(/^\s+99%\s+(\S+)/m),
    non2xx: Number(find(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
    socketErrors: find(/Socket errors: (.+)/) ?? 'none',
  };
}

/** The API's request counters for GET job status (`:jobId` routes), by status: `{ "200": n, "503": m }`. */
export async function jobRouteStatuses(apiUrl: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of (await (await fetch(`${apiUrl}/metrics`)).text()).split('\n')) {
    if (!line.startsWith('ratchet_http_requests_total') || !line.includes('/fine_tuning/jobs/:jobId"')) continue;
    if (!line.includes('method="GET"')) continue;
    const status = /status="(\d+)"/.exec(line)?.[1] ?? '?';
    counts[status] = (counts[status] ?? 0) + Number(line.split(' ').at(-1));
  }
  return counts;
}
