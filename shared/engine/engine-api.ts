import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/**
 * Read-only questions to the Docker Engine API over its local unix socket: the very JSON `docker
 * inspect`, `docker ps` or `docker service ps` would print, without starting the CLI for each
 * (50-100 ms of a small runner's CPU a call, several times a second while health is watched).
 * Used only where the CLI would reach the same engine the same way: DOCKER_HOST unset (the default
 * socket) or unix://, no context, no TLS. Anywhere else (tcp://, ssh://, a context, a host reached
 * through the SSH executor) the CLI is asked instead. Nothing is ever changed through this client:
 * every change goes through the docker CLI and compose, as a person would run them.
 */
export interface EngineApi {
  readonly socket: string;
  /** GET `path` (with query); the parsed body, or undefined when the engine says 404. */
  get<T>(apiPath: string, query?: Record<string, string>): Promise<T | undefined>;
}

export class EngineApiError extends Error {
  constructor(
    message: string,
    /** The engine's own words ({"message": ...}), e.g. why a registry could not be reached. */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'EngineApiError';
  }
}

function currentContextSet(env: Record<string, string | undefined>): boolean {
  const configDir = env.DOCKER_CONFIG ?? path.join(env.HOME ?? os.homedir(), '.docker');
  const file = path.join(configDir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    const context = (JSON.parse(readFileSync(file, 'utf8')) as { currentContext?: string }).currentContext;
    return Boolean(context && context !== 'default');
  } catch {
    // The CLI would refuse a broken config file too: leave it to the CLI.
    return true;
  }
}

/** The socket the docker CLI would use with this environment, when it is a local unix socket. */
export function localEngineSocket(env: Record<string, string | undefined>): string | undefined {
  if (env.DOCKER_CONTEXT || env.DOCKER_TLS_VERIFY || env.DOCKER_CERT_PATH) return undefined;
  const host = env.DOCKER_HOST;
  if (host) return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
  if (currentContextSet(env)) return undefined;
  return '/var/run/docker.sock';
}

export function engineApi(socket: string): EngineApi {
  return {
    socket,
    get<T>(apiPath: string, query: Record<string, string> = {}) {
      const search = new URLSearchParams(query).toString();
      return new Promise<T | undefined>((resolve, reject) => {
        const request = http.get(
          {
            socketPath: socket,
            path: `${apiPath}${search ? `?${search}` : ''}`,
            headers: { host: 'docker' },
            timeout: 60_000,
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', reject);
            response.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              if (response.statusCode === 404) return resolve(undefined);
              let body: unknown;
              try {
                body = JSON.parse(text);
              } catch (error) {
                return reject(
                  new EngineApiError(
                    `Docker Engine API GET ${apiPath} answered something that is not JSON: ${(error as Error).message}`,
                    text.slice(0, 300),
                  ),
                );
              }
              if (response.statusCode === 200) return resolve(body as T);
              const detail = (body as { message?: string } | null)?.message ?? text.trim().slice(0, 300);
              reject(
                new EngineApiError(
                  `Docker Engine API GET ${apiPath} answered ${response.statusCode}: ${detail}`,
                  detail,
                ),
              );
            });
          },
        );
        request.on('timeout', () =>
          request.destroy(
            new EngineApiError(`Docker Engine API GET ${apiPath} did not answer within 60s`, 'no answer within 60s'),
          ),
        );
        request.on('error', reject);
      });
    },
  };
}

/** The engine API for this process's environment plus `env`, when the CLI would use a local socket that exists. */
export function localEngineApi(env: Record<string, string | undefined> = {}): EngineApi | undefined {
  const socket = localEngineSocket({ ...process.env, ...env });
  return socket && existsSync(socket) ? engineApi(socket) : undefined;
}

/** Engine API filters, as the API takes them: {"label": ["a=b"]}. */
export function filters(values: Record<string, string[]>): Record<string, string> {
  return { filters: JSON.stringify(values) };
}
