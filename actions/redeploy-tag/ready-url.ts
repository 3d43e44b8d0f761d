import { redactUrl } from '../../shared/secrets.js';

/**
 * Polls the ready-url until it answers 2xx. Credentials in the URL (https://user:pass@host/) go
 * into a Basic Authorization header, since fetch refuses URLs that carry them; messages show the
 * URL redacted.
 */
export interface ReadyResult {
  ok: boolean;
  attempts: number;
  elapsedMs: number;
  /** Last HTTP status, or the connection error. */
  last: string;
}

function requestFor(url: string): { href: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  const headers: Record<string, string> = {};
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  return { href: parsed.toString(), headers };
}

export async function pollReadyUrl(url: string, deadline: number, options: { intervalMs?: number; signal?: AbortSignal; onAttempt?: (last: string) => void } = {}): Promise<ReadyResult> {
  const { href, headers } = requestFor(url);
  const started = Date.now();
  let attempts = 0;
  let last: string;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    try {
      const timeout = AbortSignal.timeout(Math.max(500, Math.min(5000, remaining)));
      const response = await fetch(href, { headers, redirect: 'follow', signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout });
      const body = (await response.text().catch(() => '')).trim();
      last = `HTTP ${response.status}${body ? `: ${body.slice(0, 200)}` : ''}`;
      if (response.status >= 200 && response.status < 300) return { ok: true, attempts, elapsedMs: Date.now() - started, last };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      last = cause?.code ?? cause?.message ?? (error as Error).message;
    }
    options.onAttempt?.(last);
    const wait = Math.min(attempts < 20 ? 100 : 500, options.intervalMs ?? Infinity);
    if (Date.now() + wait >= deadline || options.signal?.aborted) return { ok: false, attempts, elapsedMs: Date.now() - started, last };
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

export function describeReadyUrl(url: string): string {
  return redactUrl(url);
}
