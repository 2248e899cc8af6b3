/**
 * The API, as the console calls it: the key from sessionStorage (the browser session only) in the
 * x-api-key header, JSON in and out, and the API's error shape turned into an ApiError.
 */

const STORAGE = 'ledger.console.apiKey';

export const session = {
  key(): string | null {
    return sessionStorage.getItem(STORAGE);
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE, key);
  },
  clear(): void {
    sessionStorage.removeItem(STORAGE);
  },
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    /** What a failed job gave all the same (a JOB_FAILED answer's `result`: a verification that met damage, what it found before it). */
    readonly result?: unknown,
  ) {
    super(message);
  }
}

/** Called when the API refuses the key (401) or its role (403); main.ts sends the user to sign in. */
let onRefused: (err: ApiError) => void = () => undefined;
export function whenRefused(handler: (err: ApiError) => void): void {
  onRefused = handler;
}

/** What to tell a person whose key lacks the role. */
export function refusalText(err: ApiError): string {
  if (err.status === 401) return `The API does not know this key (${err.message}). Sign in with an auditor or admin API key.`;
  return `This key may not use the audit console: it needs the auditor or admin role (the API said: ${err.message}).`;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal; key?: string } = {}): Promise<T> {
  const key = init.key ?? session.key() ?? '';
  const headers: Record<string, string> = { 'x-api-key': key, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: init.signal });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const body = (json ?? {}) as { message?: string | string[]; field?: string; code?: string; result?: unknown };
    const message = Array.isArray(body.message) ? body.message.join('; ') : (body.message ?? (text || res.statusText));
    const err = new ApiError(res.status, message, body.field, body.code === 'JOB_FAILED' ? body.result : undefined);
    if ((res.status === 401 || res.status === 403) && init.key === undefined) onRefused(err);
    throw err;
  }
  return json as T;
}

export const enc = encodeURIComponent;

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
