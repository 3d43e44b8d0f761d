import http from 'node:http';
import https from 'node:https';
import { proxyRoute } from '../../shared/http/proxy.js';
import { redactUrl } from '../../shared/secrets.js';

/**
 * Polls the ready-url until it answers 2xx. node:http rather than fetch: fetch's first use loads
 * undici and keeps the process alive for a while after the last request, together ~0.3s of a
 * redeploy that takes ~2s. A fresh connection per attempt (no keep-alive): each attempt should
 * see the service as a new client would. Credentials in the URL are sent as Basic auth; messages
 * show the URL redacted. Redirects are followed (up to 5). HTTPS_PROXY/HTTP_PROXY and NO_PROXY are
 * honoured as smoke-test honours them (shared/http/proxy.ts).
 */
export interface ReadyResult {
  ok: boolean;
  attempts: number;
  elapsedMs: number;
  /** Last HTTP status with the start of the body, or the connection error. */
  last: string;
  /** Whether any attempt got an HTTP answer at all (a URL that never answers is likely the wrong one). */
  answered: boolean;
}

/** Why a restore is not judged by a ready-url that never answered during the redeploy. */
export function unansweredReadyUrlNote(url: string, last: string): string {
  return `ready-url ${describeReadyUrl(url)} never answered during the redeploy (last: ${last}), so it is not waited on again: the restore is judged without it`;
}

const MAX_REDIRECTS = 5;

function get(
  url: URL,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  redirects = 0,
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { 'user-agent': 'rollback-actions/redeploy-tag', accept: '*/*' };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  const route = proxyRoute(
    url,
    signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
  );
  const send = route?.send ?? (url.protocol === 'https:' ? https : http).request;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      { agent: false, timeout: timeoutMs, signal, ...route?.options, headers: { ...headers, ...route?.headers } },
      (response) => {
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location && redirects < MAX_REDIRECTS) {
          response.resume();
          get(new URL(location, url), timeoutMs, signal, redirects + 1).then(resolve, reject);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          // Only the start of the body is shown; the rest is drained, not kept.
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    request.on('error', reject);
    request.end();
  });
}

export async function pollReadyUrl(
  url: string,
  deadline: number,
  options: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<ReadyResult> {
  const target = new URL(url);
  const started = Date.now();
  let attempts = 0;
  let answered = false;
  for (;;) {
    attempts++;
    let last: string;
    try {
      const { status, body } = await get(target, Math.max(500, Math.min(5000, deadline - Date.now())), options.signal);
      answered = true;
      const text = body.trim().replace(/\s+/g, ' ');
      last = `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (status >= 200 && status < 300) return { ok: true, attempts, elapsedMs: Date.now() - started, last, answered };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A proxy's refusal says more than its code.
      last = code && code !== 'ABORT_ERR' && code !== 'EPROXY' ? code : (error as Error).message;
    }
    // Quick at first, as often as a runbook's curl loop (a restarted service usually answers within
    // a second or two, and each poll is one small request), then easing off.
    const wait = Math.min(attempts < 40 ? 50 : 500, options.intervalMs ?? Infinity);
    if (Date.now() + wait >= deadline || options.signal?.aborted)
      return { ok: false, attempts, elapsedMs: Date.now() - started, last, answered };
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

export function describeReadyUrl(url: string): string {
  return redactUrl(url);
}
