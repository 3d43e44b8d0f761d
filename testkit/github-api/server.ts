import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  allows,
  type PermissionLevel,
  type Permissions,
  type PermissionScope,
} from '../../scripts/local-runner/permissions.js';
import { listenLocal, type LocalHttpServer } from '../local-http.js';

/**
 * A local stand-in for GitHub's REST API: a real HTTP server answering in GitHub's shapes, for the
 * real Octokit client (pointed here by GITHUB_API_URL). Routes are registered by feature modules
 * (deployments, releases and tags, artifacts...) so each stays small.
 */
export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  headers: IncomingMessage['headers'];
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** What a GitHub App installation token (the GITHUB_TOKEN is one) needs for an endpoint (REST docs, "Permissions required"). */
export interface RequiredPermission {
  scope: PermissionScope;
  level: Exclude<PermissionLevel, 'none'>;
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
  permission?: RequiredPermission;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  authorization?: string;
}

export class FakeGitHubServer {
  private readonly routes: Route[] = [];
  private server?: LocalHttpServer;
  readonly requests: RecordedRequest[] = [];
  /** When set, requests must carry this token (as GitHub, 401 otherwise); it may do anything. */
  requiredToken?: string;
  /** Tokens with the permissions a job's GITHUB_TOKEN was given (grantToken). */
  private readonly scopedTokens = new Map<string, Permissions>();
  baseUrl = '';
  private nextNodeId = 1000;

  /**
   * A token with exactly these permissions, as GitHub mints a job's GITHUB_TOKEN: a call its
   * permissions do not cover gets GitHub's 403 "Resource not accessible by integration".
   */
  grantToken(permissions: Permissions): string {
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    this.scopedTokens.set(token, permissions);
    return token;
  }

  /** Registers a handler; `pattern` uses {name} placeholders: /repos/{owner}/{repo}/deployments. */
  route(method: string, pattern: string, handler: RouteHandler, permission?: RequiredPermission): void {
    const names: string[] = [];
    const regex = pattern.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${regex}$`), names, handler, permission });
  }

  newId(): number {
    return this.nextNodeId++;
  }

  async start(tls?: { cert: string; key: string }): Promise<string> {
    this.server = await listenLocal((request, response) => void this.handle(request, response), tls);
    this.baseUrl = this.server.baseUrl;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /** Environment for an action step: where the API is, as the runner would set it. */
  env(): Record<string, string> {
    return {
      GITHUB_API_URL: this.baseUrl,
      GITHUB_SERVER_URL: this.baseUrl.replace('127.0.0.1', 'localhost'),
      GITHUB_GRAPHQL_URL: `${this.baseUrl}/graphql`,
    };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return this.send(response, {
        status: 400,
        body: { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' },
      });
    }
    const authorization = request.headers.authorization;
    this.requests.push({ method: request.method ?? 'GET', path: url.pathname + url.search, body, authorization });
    const token = /^(?:token|Bearer) (.+)$/.exec(authorization ?? '')?.[1];
    const scoped = token === undefined ? undefined : this.scopedTokens.get(token);
    if ((this.requiredToken || this.scopedTokens.size > 0) && token !== this.requiredToken && !scoped) {
      return this.send(response, {
        status: 401,
        body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
      });
    }
    for (const route of this.routes) {
      if (route.method !== request.method) continue;
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      if (scoped && route.permission && !allows(scoped, route.permission.scope, route.permission.level)) {
        return this.send(response, {
          status: 403,
          body: {
            message: 'Resource not accessible by integration',
            documentation_url: 'https://docs.github.com/rest',
            status: '403',
          },
        });
      }
      const params = Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match[index + 1])]));
      try {
        const result = await route.handler({
          method: route.method,
          path: url.pathname,
          params,
          query: url.searchParams,
          body,
          headers: request.headers,
        });
        return this.send(response, result);
      } catch (error) {
        return this.send(response, { status: 500, body: { message: (error as Error).message } });
      }
    }
    this.send(response, {
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
    });
  }

  private send(response: ServerResponse, result: ApiResponse): void {
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-remaining': '4999',
      ...result.headers,
    };
    if (result.body === undefined) {
      response.writeHead(result.status, headers);
      response.end();
      return;
    }
    response.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(result.body));
  }
}

/** Pages a list the way GitHub does: per_page (default 30, max 100), page, and a Link header. */
export function paginate<T>(request: ApiRequest, baseUrl: string, items: T[]): ApiResponse {
  const perPage = Math.min(Number(request.query.get('per_page') ?? 30) || 30, 100);
  const page = Math.max(Number(request.query.get('page') ?? 1) || 1, 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const query = new URLSearchParams(request.query);
    query.set('page', String(n));
    query.set('per_page', String(perPage));
    return `<${baseUrl}${request.path}?${query}>; rel="${rel}"`;
  };
  const links = [];
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return { status: 200, body: slice, headers: links.length ? { link: links.join(', ') } : {} };
}

export const SIMPLE_USER = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
  gravatar_id: '',
  url: 'https://api.github.com/users/github-actions%5Bbot%5D',
  html_url: 'https://github.com/apps/github-actions',
  followers_url: 'https://api.github.com/users/github-actions%5Bbot%5D/followers',
  following_url: 'https://api.github.com/users/github-actions%5Bbot%5D/following{/other_user}',
  gists_url: 'https://api.github.com/users/github-actions%5Bbot%5D/gists{/gist_id}',
  starred_url: 'https://api.github.com/users/github-actions%5Bbot%5D/starred{/owner}{/repo}',
  subscriptions_url: 'https://api.github.com/users/github-actions%5Bbot%5D/subscriptions',
  organizations_url: 'https://api.github.com/users/github-actions%5Bbot%5D/orgs',
  repos_url: 'https://api.github.com/users/github-actions%5Bbot%5D/repos',
  events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/events{/privacy}',
  received_events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/received_events',
  type: 'Bot',
  site_admin: false,
};
