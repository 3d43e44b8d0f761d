import { getProxyUrl } from '@actions/http-client/lib/proxy';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { redactUrl } from '../secrets.js';

/**
 * Outgoing HTTP through the proxy a self-hosted runner is configured with. Which requests use a
 * proxy is decided exactly as the GitHub toolkit decides it for Octokit and the artifact client
 * (@actions/http-client's getProxyUrl): https_proxy/HTTPS_PROXY for https, http_proxy/HTTP_PROXY
 * for http; no_proxy/NO_PROXY entries (host, .domain or domain suffix, host:port, *) go direct; so
 * do loopback hosts (localhost, 127.*, [::1]). Plain http is sent to the proxy in absolute form;
 * https goes through a CONNECT tunnel with TLS end to end, so certificates are checked (and
 * reported) as without a proxy.
 */

/** The proxy a request to `url` goes through, or undefined for a direct connection. */
function proxyFor(url: URL): URL | undefined {
  const proxy = getProxyUrl(url);
  if (!proxy) return undefined;
  // "proxy.corp:3128" parses as a URL with the scheme "proxy.corp:"; curl reads it as http.
  return proxy.protocol === 'http:' || proxy.protocol === 'https:'
    ? new URL(proxy.href)
    : new URL(`http://${proxy.href}`);
}

/** A proxy that could not be used: unreachable, or it refused the tunnel (a connection failure). */
class ProxyError extends Error {
  readonly code = 'EPROXY';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyError';
  }
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

function authority(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
}

/** How to reach the proxy itself (node:http wants an IPv6 host without its brackets). */
function connectToProxy(proxy: URL) {
  return {
    send: proxy.protocol === 'https:' ? https.request : http.request,
    hostname: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80),
  };
}

/** A CONNECT tunnel through the proxy to the target's host and port; aborted with `signal`. */
function openTunnel(proxy: URL, target: URL, signal: AbortSignal): Promise<net.Socket> {
  const to = authority(target);
  const { send, hostname, port } = connectToProxy(proxy);
  return new Promise((resolve, reject) => {
    const request = send({
      hostname,
      port,
      method: 'CONNECT',
      path: to,
      agent: false,
      signal,
      headers: { host: to, ...proxyAuthorization(proxy) },
    });
    request.once('connect', (response, socket, head) => {
      if (response.statusCode === 200) {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(
        new ProxyError(
          `the proxy ${redactUrl(proxy.href)} refused the tunnel to ${to}: ${response.statusCode} ${response.statusMessage ?? ''}`.trim(),
        ),
      );
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') reject(error);
      else reject(new ProxyError(`the proxy ${redactUrl(proxy.href)} could not be reached: ${error.message}`));
    });
    request.end();
  });
}

export interface ProxyRoute {
  /** http.request or https.request, whichever talks to the next hop. */
  send: typeof http.request;
  /** Options laid over the request's own: the proxy as host for plain http; the tunnel for https. */
  options: https.RequestOptions;
  /** Headers added to the request's own. */
  headers: Record<string, string>;
}

/**
 * How to send a request for `url`: undefined for a direct connection, else through its proxy. For
 * https, node:http asks for the connection (createConnection, without an agent) and gets TLS over a
 * CONNECT tunnel, opened then; `signal` aborts the tunnel (the caller's deadline).
 */
export function proxyRoute(url: URL, signal: AbortSignal): ProxyRoute | undefined {
  const proxy = proxyFor(url);
  if (!proxy) return undefined;
  if (url.protocol !== 'https:') {
    const { send, hostname, port } = connectToProxy(proxy);
    const absolute = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
    return {
      send,
      options: { hostname, port, path: absolute },
      headers: { host: url.host, ...proxyAuthorization(proxy) },
    };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const createConnection = (
    options: tls.ConnectionOptions,
    connected: (error: Error | null, socket?: net.Socket) => void,
  ): undefined => {
    openTunnel(proxy, url, signal).then(
      (tunnel) =>
        connected(
          null,
          tls.connect({
            socket: tunnel,
            host,
            servername: net.isIP(host) ? undefined : host,
            rejectUnauthorized: options.rejectUnauthorized,
            secureContext: options.secureContext,
            ca: options.ca,
          }),
        ),
      (error: Error) => connected(error),
    );
    return undefined;
  };
  return { send: https.request, options: { agent: undefined, createConnection } as https.RequestOptions, headers: {} };
}
