import {
  booleanInput,
  durationInput,
  integerInput,
  listInput,
  secretInput,
  stringInput,
  urlInput,
} from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { readLedgerLocation } from '../../shared/ledger/inputs.js';
import type { LedgerLocation } from '../../shared/ledger/on-host.js';
import { IMAGE_TAG_DESCRIPTION, IMAGE_TAG_PATTERN } from '../../shared/tags.js';
import { maskValue } from '../../shared/secrets.js';

export interface SmokeInputs {
  url?: string;
  baseUrl?: string;
  suite?: string;
  method: string;
  expectedStatus: string[];
  expectedVersion?: string;
  versionPath: string;
  headers: Record<string, string>;
  /** Lower-cased names of the headers whose values are secret: credential-looking or listed in secret-headers. */
  secretHeaders: Set<string>;
  timeoutMs: number;
  deadlineMs: number;
  consecutiveSuccesses: number;
  warmup: number;
  retryStatuses: number[];
  retryOnAssertionFailure: boolean;
  backoffMs: number;
  maxBackoffMs: number;
  followRedirects: boolean;
  caFile?: string;
  insecureTls: boolean;
  tlsExpiryDays?: number;
  maxResponseTimeMs?: number;
  failOnError: boolean;
  junitPath?: string;
  /** A GitHub deployment to mark success or failure with the verdict. */
  deployment?: { id: number; environment: string; environmentUrl?: string; token: string };
  /** Where the verdict is appended to the deployment ledger: the file, and the deploy host over SSH (else this runner). */
  ledger?: LedgerLocation & { tag?: string; environment?: string };
}

const STATUS = /^([1-5]xx|[1-5][0-9]{2})$/;

export function parseExpectedStatus(text: string, inputName = 'expected-status'): string[] {
  const items = text.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) throw new InputError(inputName, 'must list at least one status code or class.');
  for (const item of items) {
    if (!STATUS.test(item))
      throw new InputError(inputName, `must list status codes (200) or classes (2xx); got "${item}".`);
  }
  return items;
}

// Header names that carry credentials: their values are secret without being listed in secret-headers.
const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|password|passwd|session|key|auth|credential|signature|jwt/i;

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

/**
 * "Name: value" per line. Values of credential-looking headers and of those named in `secretNames`
 * are masked; the rest (Accept: application/json) are not, since masking them would blank that
 * text everywhere in the job log.
 */
function parseHeaders(text: string | undefined, secretNames: Set<string>): Record<string, string> {
  const inputName = 'headers';
  const headers: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const separator = line.indexOf(':');
    const name = line.slice(0, separator).trim();
    if (separator <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      // Only the start of the line: the rest may be the secret itself.
      throw new InputError(
        inputName,
        `lines must look like "Name: value"; got a line starting "${line.trim().slice(0, 12)}".`,
      );
    }
    const value = line.slice(separator + 1).trim();
    if (isCredentialHeader(name) || secretNames.has(name.toLowerCase())) maskValue(value);
    headers[name] = value;
  }
  return headers;
}

export function readSmokeInputs(): SmokeInputs {
  // Headers first: their secret values are masked before any other input error can print anything.
  const secretHeaders = new Set(
    listInput('secret-headers', {
      itemPattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
      itemDescription: 'header names such as X-Internal-Auth',
    }).map((name) => name.toLowerCase()),
  );
  const headers = parseHeaders(stringInput('headers'), secretHeaders);
  for (const name of Object.keys(headers)) if (isCredentialHeader(name)) secretHeaders.add(name.toLowerCase());
  const baseUrl = urlInput('base-url');
  const url = urlInput('url', { allowRelative: baseUrl !== undefined });
  const suite = stringInput('suite');
  if (!url && !suite) throw new InputError('url', 'or "suite" is required: give a URL to check or a suite of checks.');
  const backoffMs = durationInput('backoff', { default: 250, min: 1, max: 600_000 });
  const maxBackoffMs = durationInput('max-backoff', { default: 5_000, min: 1, max: 3_600_000 });
  if (maxBackoffMs < backoffMs)
    throw new InputError('max-backoff', `must be at least the backoff (${backoffMs}ms); got ${maxBackoffMs}ms.`);
  const tlsExpiryDays = integerInput('tls-expiry-days', { min: 0, max: 3650 });
  return {
    url,
    baseUrl,
    suite,
    method: stringInput('method', {
      default: 'GET',
      pattern: /^[A-Za-z]+$/,
      patternDescription: 'an HTTP method such as GET or HEAD',
    }).toUpperCase(),
    expectedStatus: parseExpectedStatus(stringInput('expected-status', { default: '2xx' })),
    expectedVersion: stringInput('expected-version'),
    versionPath: stringInput('version-path', {
      default: '$.version',
      pattern: /^\$/,
      patternDescription: 'a JSONPath starting with "$", e.g. $.version',
    }),
    headers,
    secretHeaders,
    timeoutMs: durationInput('timeout', { default: 10_000, min: 1 }),
    deadlineMs: durationInput('deadline', { default: 60_000, min: 0 }),
    consecutiveSuccesses: integerInput('consecutive-successes', { default: 1, min: 1, max: 100 }),
    warmup: integerInput('warmup', { default: 0, min: 0, max: 100 }),
    retryStatuses: listInput('retry-statuses', {
      itemPattern: /^[1-5][0-9]{2}$/,
      itemDescription: 'status codes such as 503',
    }).map(Number),
    retryOnAssertionFailure: booleanInput('retry-on-assertion-failure', { default: false }),
    backoffMs,
    maxBackoffMs,
    followRedirects: booleanInput('follow-redirects', { default: true }),
    caFile: stringInput('ca-file'),
    insecureTls: booleanInput('insecure-tls', { default: false }),
    tlsExpiryDays,
    maxResponseTimeMs: durationInput('max-response-time', { min: 1 }),
    failOnError: booleanInput('fail-on-error', { default: true }),
    junitPath: stringInput('junit-path'),
    deployment: readDeploymentInputs(),
    ledger: readLedgerInputs(),
  };
}

/** ledger, ledger-tag and the ssh-* inputs that say on which host the ledger file is. */
function readLedgerInputs(): SmokeInputs['ledger'] {
  const location = readLedgerLocation('is only used to reach the deployment ledger: set "ledger" too, or remove it.');
  const tag = stringInput('ledger-tag', { pattern: IMAGE_TAG_PATTERN, patternDescription: IMAGE_TAG_DESCRIPTION });
  if (!location) {
    if (tag)
      throw new InputError('ledger-tag', 'is only recorded in the deployment ledger: set "ledger" too, or remove it.');
    return undefined;
  }
  return { ...location, tag, environment: stringInput('environment') };
}

function readDeploymentInputs(): SmokeInputs['deployment'] {
  const token = secretInput('github-token');
  const environment = stringInput('environment');
  const environmentUrl = urlInput('environment-url');
  // An empty deployment-id (the deploy step recorded none) leaves the environment unused: the
  // verdict then concerns no deployment, which is not an error in the caller's wiring.
  const id = integerInput('deployment-id', { min: 1 });
  if (id === undefined) return undefined;
  if (!environment)
    throw new InputError(
      'environment',
      "is required with deployment-id: on success the environment's earlier deployments are marked inactive.",
    );
  if (!token)
    throw new InputError(
      'github-token',
      'is required with deployment-id (a token with permissions: deployments: write).',
    );
  return { id, environment, environmentUrl, token };
}
