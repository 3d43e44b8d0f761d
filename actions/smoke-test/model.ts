import type { CompiledPath } from './jsonpath.js';
import type { AssertionOperator } from './suite-schema.js';

/**
 * The suite after defaults and inputs are applied: what the runner executes. Strings that may hold
 * `{{placeholders}}` are rendered per attempt, so captured values and generators are fresh.
 */

export interface StatusMatcher {
  /** As written: "200" or "2xx". */
  text: string;
  matches(status: number): boolean;
}

export function statusMatcher(spec: string | number): StatusMatcher {
  const text = String(spec).trim();
  if (/^[1-5]xx$/.test(text)) {
    const klass = Number(text[0]);
    return { text, matches: (status) => Math.floor(status / 100) === klass };
  }
  const code = Number(text);
  return { text, matches: (status) => status === code };
}

export type AssertionSubject =
  'status' | 'json' | 'header' | 'body' | 'response-time' | 'tls-days-to-expiry' | 'version';

export interface Assertion {
  subject: AssertionSubject;
  /** JSONPath source or header name. */
  target?: string;
  path?: CompiledPath;
  operator: AssertionOperator | 'status' | 'version';
  /** May contain {{placeholders}} in strings; rendered before comparing. */
  expected: unknown;
  /** How the assertion is named in reports: `json $.status equals`. */
  label: string;
  /** Defaults (the input or the suite's defaults) that only make sense over https. */
  httpsOnly?: boolean;
}

export interface HeaderSpec {
  name: string;
  value: string;
  /** Masked and never printed: from the headers input, marked secret, or a credential header. */
  secret: boolean;
}

export interface CaptureSpec {
  name: string;
  source: 'json' | 'header' | 'body';
  path?: CompiledPath;
  header?: string;
  regex?: RegExp;
  secret: boolean;
  /** `$.token` or `header location`: for the error when nothing matched. */
  label: string;
}

export type BodySpec =
  { kind: 'json'; value: unknown } | { kind: 'text'; value: string } | { kind: 'form'; value: Record<string, string> };

export interface TlsSettings {
  /** PEM text of extra CAs (read when the suite is loaded, so a missing file fails before any request). */
  ca?: string;
  caFile?: string;
  insecure: boolean;
}

export interface RequestPlan {
  name: string;
  method: string;
  url: string;
  query: [string, string][];
  headers: HeaderSpec[];
  body?: BodySpec;
  timeoutMs: number;
  followRedirects: boolean;
  maxRedirects: number;
  tls: TlsSettings;
  assertions: Assertion[];
  captures: CaptureSpec[];
  /** The response body is never printed (it may carry tokens or personal data). */
  sensitive: boolean;
}

export interface RetryPlan {
  statuses: Set<number>;
  consecutiveSuccesses: number;
  warmup: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** Per-check budget, measured from the check's start; the run's deadline still applies. */
  deadlineMs?: number;
  /** Retry when the service answers but an assertion fails (load balancers still routing to old instances). */
  onAssertionFailure: boolean;
}

export interface CheckPlan {
  name: string;
  description?: string;
  /** A flow walks several steps sharing captured values; a plain check is one request. */
  flow: boolean;
  steps: RequestPlan[];
  retry: RetryPlan;
  /** Evaluated at the start of every attempt ({{$uuid}} gives each attempt fresh data). */
  variables: [string, string][];
}

export interface SuitePlan {
  name: string;
  checks: CheckPlan[];
  /** Rendered once per run. */
  variables: Map<string, string>;
  /** Where the suite came from, for the summary. */
  source?: string;
  /** The base-url input, else the suite's: what relative URLs were joined to. */
  baseUrl?: string;
}
