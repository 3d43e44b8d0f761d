import http from 'node:http';
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { proxyRoute } from './proxy.js';

/**
 * One HTTP request with a timeout that really ends it: connect, TLS, headers and body all count
 * against one clock, and when it runs out the socket is destroyed. fetch() cannot promise that
 * for a server that accepts and never answers without an AbortSignal per hop, and it hides the
 * peer certificate, which TLS expiry checks need. Each request gets its own connection (no agent),
 * so a check never rides a keep-alive socket to a container that has since been replaced. Requests
 * go through HTTPS_PROXY/HTTP_PROXY unless NO_PROXY says otherwise (proxy.ts).
 */

export type HttpErrorKind = 'timeout' | 'connection' | 'tls' | 'protocol' | 'redirect';

export class HttpRequestError extends Error {
  readonly kind: HttpErrorKind;
  readonly code?: string;
  constructor(kind: HttpErrorKind, message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpRequestError';
    this.kind = kind;
    this.code = options?.code;
  }
}

export interface TlsOptions {
  /** PEM CA certificates trusted in addition to (not instead of) the system store. */
  ca?: string | string[];
  /** Accept any certificate (self-signed, expired, wrong host). The certificate is still reported. */
  insecure?: boolean;
}

export interface HttpRequestOptions {
  method?: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole-request budget in milliseconds, redirects included. */
  timeoutMs: number;
  followRedirects?: boolean;
  maxRedirects?: number;
  /**
   * Names of headers that carry secrets (beside Authorization, Proxy-Authorization and Cookie,
   * always treated so): a redirect to another origin does not send them on.
   */
  secretHeaders?: readonly string[];
  /** Bytes of body kept; the rest is not read (bodyTruncated says so). Default 10 MiB. */
  maxBodyBytes?: number;
  tls?: TlsOptions;
}

export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  /** Days from now until validTo, fractional; negative once expired. */
  daysToExpiry: number;
  /** Whether the certificate chain verified against the trusted CAs (false with insecure). */
  authorized: boolean;
  authorizationError?: string;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", " (set-cookie with "\n"). */
  headers: Record<string, string>;
  body: Buffer;
  bodyTruncated: boolean;
  /** The URL that answered, after redirects. */
  url: string;
  /** Each redirect followed; `dropped` names the secret headers not sent on to its other origin. */
  redirects: { status: number; location: string; dropped?: string[] }[];
  /** Milliseconds until the final response's headers arrived, and until its body was read. */
  timeToHeadersMs: number;
  totalMs: number;
  certificate?: PeerCertificateInfo;
}

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
]);
// Headers that carry credentials: never sent on to another origin by a redirect (curl and fetch agree).
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
// Parsing the system roots into a secure context takes tens of milliseconds, inside the timed span
// of every request and redirect hop: each distinct set of extra CAs gets its context once.
const secureContexts = new Map<string, tls.SecureContext>();

export async function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const maxRedirects = options.maxRedirects ?? 10;
  const redirects: HttpResponse['redirects'] = [];
  let url = new URL(options.url);
  let method = (options.method ?? 'GET').toUpperCase();
  let body = options.body;
  let headers = { ...(options.headers ?? {}) };

  for (;;) {
    const hop = await singleRequest({ ...options, url, method, body, headers }, deadline, started);
    const location = hop.headers.location;
    if (!options.followRedirects || !REDIRECT_STATUSES.has(hop.status) || !location) {
      return { ...hop, redirects, totalMs: performance.now() - started };
    }
    if (redirects.length >= maxRedirects) {
      throw new HttpRequestError('redirect', `more than ${maxRedirects} redirects (last to ${location})`);
    }
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new HttpRequestError('redirect', `redirect to unsupported protocol ${next.protocol}`);
    }
    const redirect: HttpResponse['redirects'][number] = { status: hop.status, location };
    redirects.push(redirect);
    if (next.origin !== url.origin) {
      const secret = [...CREDENTIAL_HEADERS, ...(options.secretHeaders ?? []).map((name) => name.toLowerCase())];
      const dropped = Object.keys(headers).filter((name) => secret.includes(name.toLowerCase()));
      if (dropped.length) redirect.dropped = dropped;
      headers = withoutHeaders(headers, secret);
    }
    // 303, and 301/302 after a POST (what every browser does), turn into a GET without a body.
    if (hop.status === 303 || ((hop.status === 301 || hop.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      headers = withoutHeaders(headers, ['content-type', 'content-length']);
    }
    url = next;
  }
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name.toLowerCase())));
}

type Hop = Omit<HttpResponse, 'redirects' | 'totalMs'>;

function singleRequest(
  options: HttpRequestOptions & { url: URL; method: string },
  deadline: number,
  started: number,
): Promise<Hop> {
  return new Promise<Hop>((resolve, reject) => {
    const remaining = Math.max(1, deadline - performance.now());
    const secure = options.url.protocol === 'https:';
    const headers: Record<string, string> = {
      'user-agent': 'rollback-actions-smoke-test',
      accept: '*/*',
      ...options.headers,
    };
    if (options.body !== undefined && !hasHeader(headers, 'content-length'))
      headers['content-length'] = String(Buffer.byteLength(options.body));
    const requestOptions: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
      method: options.method,
      headers,
      agent: false,
      ...(secure
        ? {
            rejectUnauthorized: !options.tls?.insecure,
            ...(options.tls?.ca ? { secureContext: secureContextWith(options.tls.ca) } : {}),
          }
        : {}),
    };
    let settled = false;
    let certificate: PeerCertificateInfo | undefined;
    // Ends a proxy tunnel still being opened when the deadline comes first.
    const abort = new AbortController();
    const fail = (error: HttpRequestError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort.abort();
      request.destroy();
      reject(error);
    };
    const route = proxyRoute(options.url, abort.signal);
    const request = route
      ? route.send(options.url, { ...requestOptions, ...route.options, headers: { ...headers, ...route.headers } })
      : (secure ? https : http).request(options.url, requestOptions);
    const timer = setTimeout(() => {
      fail(
        new HttpRequestError('timeout', `no answer within ${Math.round(options.timeoutMs)} ms (timeout)`, {
          code: 'ETIMEDOUT',
        }),
      );
    }, remaining);

    if (secure) {
      request.on('socket', (socket) => {
        socket.once('secureConnect', () => {
          certificate = describeCertificate(socket as TLSSocket);
        });
      });
    }
    request.on('error', (error: NodeJS.ErrnoException) => fail(classifyError(error)));
    request.on('response', (response) => {
      const timeToHeadersMs = performance.now() - started;
      const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const decoded = decodeStream(response);
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (truncated) request.destroy();
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          headers: flattenHeaders(response.headers),
          body: Buffer.concat(chunks),
          bodyTruncated: truncated,
          url: options.url.toString(),
          timeToHeadersMs,
          certificate,
        });
      };
      decoded.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = limit - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size = limit;
          truncated = true;
          finish();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      decoded.on('end', finish);
      decoded.on('error', (error: NodeJS.ErrnoException) => fail(classifyError(error)));
      response.on('aborted', () =>
        fail(
          new HttpRequestError('connection', 'the server closed the connection before the body was complete', {
            code: 'ECONNRESET',
          }),
        ),
      );
    });
    request.end(options.body);
  });
}

function secureContextWith(ca: string | string[]): tls.SecureContext {
  const extra = Array.isArray(ca) ? ca : [ca];
  const key = JSON.stringify(extra);
  let context = secureContexts.get(key);
  if (!context) {
    // Extra CAs join the system store rather than replace it, like curl's --cacert plus system CAs.
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extra] });
    secureContexts.set(key, context);
  }
  return context;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function decodeStream(response: http.IncomingMessage): NodeJS.ReadableStream {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return response.pipe(zlib.createGunzip());
  if (encoding === 'deflate') return response.pipe(zlib.createInflate());
  if (encoding === 'br') return response.pipe(zlib.createBrotliDecompress());
  return response;
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(name === 'set-cookie' ? '\n' : ', ') : value;
  }
  return flat;
}

function describeCertificate(socket: TLSSocket): PeerCertificateInfo | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.valid_to) return undefined;
  const validTo = new Date(peer.valid_to);
  return {
    subject: formatName(peer.subject),
    issuer: formatName(peer.issuer),
    validFrom: new Date(peer.valid_from),
    validTo,
    daysToExpiry: (validTo.getTime() - Date.now()) / 86_400_000,
    authorized: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
  };
}

function formatName(name: object | undefined): string {
  if (!name) return '';
  return Object.entries(name as Record<string, string | string[] | undefined>)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

function classifyError(error: NodeJS.ErrnoException): HttpRequestError {
  const code = error.code ?? '';
  if (
    code.startsWith('ERR_TLS') ||
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL/.test(code) ||
    /certificate/i.test(error.message)
  ) {
    return new HttpRequestError('tls', `TLS: ${error.message}`, { code, cause: error });
  }
  if (code.startsWith('HPE_') || code === 'ERR_INVALID_HTTP_RESPONSE') {
    return new HttpRequestError('protocol', `invalid HTTP response: ${error.message}`, { code, cause: error });
  }
  if (CONNECTION_CODES.has(code) || error.message === 'socket hang up') {
    return new HttpRequestError('connection', connectionMessage(code, error.message), {
      code: code || 'ECONNRESET',
      cause: error,
    });
  }
  return new HttpRequestError('connection', error.message, { code, cause: error });
}

function connectionMessage(code: string, message: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens on that port)';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name does not resolve (${code})`;
    default:
      return message === 'socket hang up' ? 'the server closed the connection without answering' : message;
  }
}
