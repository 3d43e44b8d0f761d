/** The suite file as written (after schema validation): the shapes suite-schema.ts allows. */

export type Duration = string | number;
export type StatusSpec = number | string | (number | string)[];
export type OperatorObject = Partial<Record<string, unknown>>;
export type ValueOrOperators = string | number | boolean | null | unknown[] | OperatorObject;
export type Comparison<T> = T | { lt?: T; lte?: T; gt?: T; gte?: T };

export interface RawExpect {
  status?: StatusSpec;
  json?: Record<string, ValueOrOperators>;
  headers?: Record<string, ValueOrOperators>;
  body?: string | OperatorObject;
  'response-time'?: Comparison<Duration>;
  'tls-days-to-expiry'?: Comparison<number>;
}

export type RawHeaderValue = string | number | boolean | { value: string | number | boolean; secret?: boolean };

export interface RawTls {
  'ca-file'?: string;
  insecure?: boolean;
}

export interface RawRetry {
  statuses?: number[];
  'consecutive-successes'?: number;
  warmup?: number;
  backoff?: Duration;
  'max-backoff'?: Duration;
  deadline?: Duration;
  'on-assertion-failure'?: boolean;
}

export type RawCapture = string | { json?: string; header?: string; regex?: string; secret?: boolean };

export interface RawRequest {
  name?: string;
  method?: string;
  url?: string;
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, RawHeaderValue>;
  body?: string;
  json?: unknown;
  form?: Record<string, string | number | boolean>;
  timeout?: Duration;
  'follow-redirects'?: boolean;
  'max-redirects'?: number;
  tls?: RawTls;
  expect?: RawExpect;
  capture?: Record<string, RawCapture>;
  sensitive?: boolean;
  'version-check'?: boolean;
  'version-path'?: string;
}

export interface RawCheck extends RawRequest {
  name: string;
  description?: string;
  retry?: RawRetry;
  variables?: Record<string, string | number | boolean>;
  steps?: RawRequest[];
}

export interface RawSuite {
  version?: 1;
  name?: string;
  'base-url'?: string;
  variables?: Record<string, string | number | boolean>;
  defaults?: {
    headers?: Record<string, RawHeaderValue>;
    timeout?: Duration;
    'follow-redirects'?: boolean;
    'max-redirects'?: number;
    tls?: RawTls;
    retry?: RawRetry;
    'version-path'?: string;
    expect?: Pick<RawExpect, 'status' | 'headers' | 'response-time' | 'tls-days-to-expiry'>;
  };
  checks: RawCheck[];
}
