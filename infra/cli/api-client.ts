// The CLI's side of the HTTP API: RATCHET_API_URL and RATCHET_API_KEY, JSON in and out, and an error answer
// (OpenAI's envelope, {"error": {message, ...}}) turned into one readable error line. The API commands are thin clients of this and nothing else.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type ApiClient = {
  url: string;
  /** Sends `json` (or `form`) and returns the parsed JSON answer; a non-2xx answer throws an ApiError. */
  request<T>(
    method: string,
    path: string,
    body?: { json?: unknown; form?: FormData; headers?: Record<string, string> },
  ): Promise<T>;
};

export function apiClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const url = (env.RATCHET_API_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new Error(`RATCHET_API_URL must be an http(s) URL, got '${url}'`);
  const key = env.RATCHET_API_KEY;
  if (!key)
    throw new Error('RATCHET_API_KEY is not set: the API key to act with (an admin creates one: ratchet keys create)');
  return {
    url,
    async request(method, path, body = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...body.headers };
      if (body.json !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        body: body.json !== undefined ? JSON.stringify(body.json) : body.form,
      }).catch((error: Error) => {
        throw new Error(
          `cannot reach the API at ${url}: ${(error.cause as Error | undefined)?.message ?? error.message}`,
        );
      });
      const text = await response.text();
      const parsed = /json/.test(response.headers.get('content-type') ?? '') && text ? JSON.parse(text) : text;
      if (!response.ok) throw new ApiError(response.status, describeError(response, parsed));
      return parsed;
    },
  };
}

/** `404 Not Found: no job x`, from the error envelope (whose message names every invalid field). */
function describeError({ status, statusText }: Response, parsed: unknown): string {
  const message = (parsed as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof message !== 'string') return `${status} ${statusText} ${String(parsed).slice(0, 200)}`.trimEnd();
  return `${status} ${statusText}: ${message}`;
}
