/**
 * JSON Schema (draft-07) of a smoke suite file. Unions are written with multi-type keywords
 * (`type: [integer, string]` with `pattern` applying to strings only) rather than oneOf, so a
 * mistake produces one precise error instead of one per alternative. `title` names each object in
 * error messages ("unknown field "urll" in a check").
 */

export const ASSERTION_OPERATORS = [
  'equals',
  'not-equals',
  'one-of',
  'matches',
  'not-matches',
  'contains',
  'not-contains',
  'exists',
  'type',
  'lt',
  'lte',
  'gt',
  'gte',
  'length',
] as const;
export type AssertionOperator = (typeof ASSERTION_OPERATORS)[number];
export const COMPARISON_OPERATORS = ['lt', 'lte', 'gt', 'gte'] as const;
export const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const;

export const OPERATORS_TITLE = 'assertion operators';
/** Objects whose keys are assertion operators: an unknown key there is an unknown operator. */
export const OPERATOR_OBJECT_TITLES = [
  OPERATORS_TITLE,
  'body assertion',
  'response-time comparison',
  'days-to-expiry comparison',
];
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h))+\\s*$|^\\s*\\d+(\\.\\d+)?\\s*$';
const STATUS_PATTERN = '^([1-5]xx|[1-5][0-9]{2})$';
const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const duration = {
  type: ['string', 'number'],
  pattern: DURATION_PATTERN,
  minimum: 0,
  description: 'a duration such as 500ms, 5s or 2m (a bare number is seconds)',
};
const statusItem = {
  type: ['integer', 'string'],
  minimum: 100,
  maximum: 599,
  pattern: STATUS_PATTERN,
  description: 'a status code such as 200 or a class such as 2xx',
};

const operators = {
  title: OPERATORS_TITLE,
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    equals: {},
    'not-equals': {},
    'one-of': { type: 'array', minItems: 1 },
    matches: { type: 'string', description: 'a regular expression' },
    'not-matches': { type: 'string', description: 'a regular expression' },
    contains: {},
    'not-contains': {},
    exists: { type: 'boolean' },
    type: { enum: [...JSON_TYPES] },
    lt: { type: ['number', 'string'] },
    lte: { type: ['number', 'string'] },
    gt: { type: ['number', 'string'] },
    gte: { type: ['number', 'string'] },
    length: { type: 'integer', minimum: 0 },
  },
};

const durationComparison = {
  title: 'response-time comparison',
  type: ['object', 'string', 'number'],
  pattern: DURATION_PATTERN,
  minimum: 0,
  description: 'a duration such as 500ms (at most), or { lt: 500ms }',
  minProperties: 1,
  additionalProperties: false,
  properties: { lt: duration, lte: duration, gt: duration, gte: duration },
};

const numberComparison = {
  title: 'days-to-expiry comparison',
  type: ['object', 'number'],
  minProperties: 1,
  additionalProperties: false,
  properties: { lt: { type: 'number' }, lte: { type: 'number' }, gt: { type: 'number' }, gte: { type: 'number' } },
};

const valueOrOperators = { if: { type: 'object' }, then: { $ref: '#/definitions/operators' } };

const expectSchema = {
  title: 'expect',
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      ...statusItem,
      type: ['integer', 'string', 'array'],
      minItems: 1,
      items: statusItem,
      description: 'a status code such as 200, a class such as 2xx, or a list of them',
    },
    json: {
      title: 'json assertions',
      type: 'object',
      propertyNames: { pattern: '^\\$', description: 'a JSONPath starting with $' },
      additionalProperties: valueOrOperators,
    },
    headers: {
      title: 'header assertions',
      type: 'object',
      propertyNames: { pattern: HEADER_NAME_PATTERN, description: 'a header name' },
      additionalProperties: valueOrOperators,
    },
    body: { $ref: '#/definitions/bodyAssertion' },
    'response-time': durationComparison,
    'tls-days-to-expiry': numberComparison,
  },
};

const tlsSchema = {
  title: 'tls',
  type: 'object',
  additionalProperties: false,
  properties: {
    'ca-file': { type: 'string', minLength: 1 },
    insecure: { type: 'boolean' },
  },
};

const headersSchema = {
  title: 'headers',
  type: 'object',
  propertyNames: { pattern: HEADER_NAME_PATTERN, description: 'a header name' },
  additionalProperties: {
    title: 'header',
    type: ['string', 'number', 'boolean', 'object'],
    required: ['value'],
    additionalProperties: false,
    properties: { value: { type: ['string', 'number', 'boolean'] }, secret: { type: 'boolean' } },
  },
};

const retrySchema = {
  title: 'retry',
  type: 'object',
  additionalProperties: false,
  properties: {
    statuses: { type: 'array', items: { type: 'integer', minimum: 100, maximum: 599 } },
    'consecutive-successes': { type: 'integer', minimum: 1, maximum: 100 },
    warmup: { type: 'integer', minimum: 0, maximum: 100 },
    backoff: duration,
    'max-backoff': duration,
    deadline: duration,
    'on-assertion-failure': { type: 'boolean' },
  },
};

const variablesSchema = {
  title: 'variables',
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'a variable name (letters, digits, _ and -)' },
  additionalProperties: { type: ['string', 'number', 'boolean'] },
};

const captureSchema = {
  title: 'capture',
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', description: 'a variable name (letters, digits, _ and -)' },
  additionalProperties: {
    title: 'capture',
    type: ['string', 'object'],
    pattern: '^\\$',
    description: 'a JSONPath starting with $, or { json | header | regex, secret }',
    minProperties: 1,
    additionalProperties: false,
    properties: {
      json: { type: 'string', pattern: '^\\$', description: 'a JSONPath starting with $' },
      header: { type: 'string', pattern: HEADER_NAME_PATTERN },
      regex: { type: 'string', description: 'a regular expression (its first group, or the whole match)' },
      secret: { type: 'boolean' },
    },
  },
};

/** Fields a single request has, both as a check and as a step of a flow. */
const requestProperties = {
  method: { type: 'string', pattern: '^[A-Za-z]+$', description: 'an HTTP method such as GET or POST' },
  url: { type: 'string', minLength: 1 },
  query: { title: 'query', type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  headers: headersSchema,
  body: { type: 'string' },
  json: {},
  form: { title: 'form', type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  timeout: duration,
  'follow-redirects': { type: 'boolean' },
  'max-redirects': { type: 'integer', minimum: 0, maximum: 50 },
  tls: tlsSchema,
  expect: { $ref: '#/definitions/expect' },
  capture: captureSchema,
  sensitive: { type: 'boolean' },
  'version-check': { type: 'boolean' },
  'version-path': { type: 'string', pattern: '^\\$', description: 'a JSONPath starting with $' },
};

/** Derived from the schema so the plan's "move it into a step" check cannot miss a field added here. */
export const REQUEST_FIELDS = Object.keys(requestProperties) as (keyof typeof requestProperties)[];

export const suiteSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'smoke suite',
  type: 'object',
  required: ['checks'],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    name: { type: 'string', minLength: 1 },
    'base-url': { type: 'string', pattern: '^https?://', description: 'an http:// or https:// URL' },
    variables: variablesSchema,
    defaults: {
      title: 'defaults',
      type: 'object',
      additionalProperties: false,
      properties: {
        headers: headersSchema,
        timeout: duration,
        'follow-redirects': { type: 'boolean' },
        'max-redirects': { type: 'integer', minimum: 0, maximum: 50 },
        tls: tlsSchema,
        retry: retrySchema,
        'version-path': requestProperties['version-path'],
        expect: {
          title: 'default expect',
          type: 'object',
          additionalProperties: false,
          properties: {
            status: expectSchema.properties.status,
            headers: expectSchema.properties.headers,
            'response-time': durationComparison,
            'tls-days-to-expiry': numberComparison,
          },
        },
      },
    },
    checks: {
      type: 'array',
      minItems: 1,
      items: {
        title: 'check',
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          description: { type: 'string' },
          retry: retrySchema,
          variables: variablesSchema,
          steps: {
            type: 'array',
            minItems: 1,
            items: {
              title: 'step',
              type: 'object',
              required: ['url'],
              additionalProperties: false,
              properties: { name: { type: 'string', minLength: 1 }, ...requestProperties },
            },
          },
          ...requestProperties,
        },
      },
    },
  },
  definitions: {
    operators,
    expect: expectSchema,
    bodyAssertion: {
      title: 'body assertion',
      type: ['string', 'object'],
      minProperties: 1,
      additionalProperties: false,
      properties: {
        equals: { type: 'string' },
        contains: { type: 'string' },
        'not-contains': { type: 'string' },
        matches: { type: 'string', description: 'a regular expression' },
        'not-matches': { type: 'string', description: 'a regular expression' },
        length: { type: 'integer', minimum: 0 },
      },
    },
  },
} as const;
