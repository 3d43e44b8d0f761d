import { data, Evaluator, Lexer, Parser } from '@actions/expressions';

/**
 * GitHub Actions expressions, evaluated with GitHub's own expression library (@actions/expressions),
 * so `${{ needs.plan.outputs.strategy == 'image-only' }}` means here what it means on GitHub.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Contexts = Record<string, Json>;

export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

/** Where no status function can matter (job outputs, a service's settings...). */
export const NO_STATUS: StatusFunctions = { success: () => true, failure: () => false, cancelled: () => false };

const CONTEXT_NAMES = [
  'github',
  'env',
  'inputs',
  'secrets',
  'vars',
  'steps',
  'needs',
  'job',
  'jobs',
  'runner',
  'matrix',
  'strategy',
];
const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'];

function toExpressionData(value: Json): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

function fromExpressionData(value: data.ExpressionData): Json {
  return JSON.parse(JSON.stringify(value, data.replacer)) as Json;
}

export function evaluate(expression: string, contexts: Contexts, status: StatusFunctions): Json {
  const lexed = new Lexer(expression).lex();
  const functions = STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
  const parsed = new Parser(lexed.tokens, CONTEXT_NAMES, functions).parse();
  const implementations = new Map([
    ['success', { name: 'success', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status.success()) }],
    ['failure', { name: 'failure', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status.failure()) }],
    ['always', { name: 'always', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(true) }],
    ['cancelled', { name: 'cancelled', minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status.cancelled()) }],
  ]);
  const dictionary = new data.Dictionary(
    ...Object.entries(contexts).map(([key, value]) => ({ key, value: toExpressionData(value) })),
  );
  return fromExpressionData(new Evaluator(parsed, dictionary, implementations).evaluate());
}

/** GitHub's truthiness: false, 0, -0, "", null and NaN are falsy. */
export function truthy(value: Json): boolean {
  if (value === null || value === false || value === '' || value === 0) return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

export function asString(value: Json): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}/g;

/** Expands every ${{ }} in a string. A string that is exactly one expression keeps its type. */
export function interpolate(template: unknown, contexts: Contexts, status: StatusFunctions): Json {
  if (typeof template !== 'string') return (template ?? null) as Json;
  const matches = [...template.matchAll(TEMPLATE)];
  if (matches.length === 1 && matches[0][0] === template.trim()) return evaluate(matches[0][1], contexts, status);
  return template.replace(TEMPLATE, (_match, expression: string) => asString(evaluate(expression, contexts, status)));
}

export function interpolateString(template: unknown, contexts: Contexts, status: StatusFunctions): string {
  return asString(interpolate(template, contexts, status));
}

/**
 * An `if:` condition: with or without ${{ }}, and wrapped in `success() && (...)` when it calls
 * no status function, as the runner does.
 */
export function condition(text: unknown, contexts: Contexts, status: StatusFunctions): boolean {
  if (text === undefined || text === null || text === '') return status.success();
  if (typeof text === 'boolean') return text && status.success();
  let expression = String(text).trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(expression);
  if (wrapped) expression = wrapped[1].trim();
  if (!/\b(success|failure|always|cancelled)\s*\(/.test(expression)) expression = `success() && (${expression})`;
  return truthy(evaluate(expression, contexts, status));
}
