import { booleanInput, durationInput, integerInput, stringInput, urlInput } from '../../shared/inputs.js';
import { InputError } from '../../shared/errors.js';
import { maskValue } from '../../shared/secrets.js';

export interface SmokeInputs {
  url?: string;
  baseUrl?: string;
  suite?: string;
  expectedStatus: string[];
  expectedVersion?: string;
  versionPath: string;
  headers: Record<string, string>;
  timeoutMs: number;
  deadlineMs: number;
  consecutiveSuccesses: number;
  failOnError: boolean;
  junitPath?: string;
}

const STATUS = /^([1-5]xx|[1-5][0-9]{2})$/;

export function parseExpectedStatus(text: string, inputName = 'expected-status'): string[] {
  const items = text.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) throw new InputError(inputName, 'must list at least one status code or class.');
  for (const item of items) {
    if (!STATUS.test(item)) throw new InputError(inputName, `must list status codes (200) or classes (2xx); got "${item}".`);
  }
  return items;
}

/** "Name: value" per line. Every value is masked: headers are where tokens live. */
export function parseHeaders(text: string | undefined, inputName = 'headers'): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    if (line.trim() === '') continue;
    const separator = line.indexOf(':');
    const name = line.slice(0, separator).trim();
    if (separator <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new InputError(inputName, `lines must look like "Name: value"; got a line starting "${line.trim().slice(0, 20)}".`);
    }
    const value = line.slice(separator + 1).trim();
    maskValue(value);
    headers[name] = value;
  }
  return headers;
}

export function readSmokeInputs(): SmokeInputs {
  const baseUrl = urlInput('base-url');
  const url = urlInput('url', { allowRelative: baseUrl !== undefined });
  const suite = stringInput('suite');
  if (!url && !suite) throw new InputError('url', 'or "suite" is required: give a URL to check or a suite of checks.');
  return {
    url,
    baseUrl,
    suite,
    expectedStatus: parseExpectedStatus(stringInput('expected-status', { default: '2xx' })),
    expectedVersion: stringInput('expected-version'),
    versionPath: stringInput('version-path', { default: '$.version', pattern: /^\$/, patternDescription: 'a JSONPath starting with "$", e.g. $.version' }),
    headers: parseHeaders(stringInput('headers')),
    timeoutMs: durationInput('timeout', { default: 10_000, min: 1 }),
    deadlineMs: durationInput('deadline', { default: 60_000, min: 0 }),
    consecutiveSuccesses: integerInput('consecutive-successes', { default: 1, min: 1, max: 100 }),
    failOnError: booleanInput('fail-on-error', { default: true }),
    junitPath: stringInput('junit-path'),
  };
}
