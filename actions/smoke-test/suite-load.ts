import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { InputError } from '../../shared/errors.js';
import { OPERATOR_OBJECT_TITLES, ASSERTION_OPERATORS, suiteSchema } from './suite-schema.js';
import type { RawSuite } from './suite-types.js';

/**
 * Reads a suite (a file in the repository or inline YAML), validates it against the JSON Schema
 * and reports every problem as `file:line:column: field: what is wrong`. Lines come from the YAML
 * node ranges, found by walking the document along each error's JSON pointer.
 */

export interface SuiteSource {
  text: string;
  /** How the suite is named in messages: its path relative to the workspace, or "suite (inline)". */
  displayName: string;
  /** The file on disk, for annotations; undefined for inline suites. */
  file?: string;
}

export interface SuiteProblem {
  /** JSON pointer segments of the offending field. */
  pointer: string[];
  message: string;
  line?: number;
  column?: number;
}

export class SuiteError extends InputError {
  readonly problems: SuiteProblem[];
  readonly source: SuiteSource;
  constructor(source: SuiteSource, problems: SuiteProblem[]) {
    const lines = problems.map((problem) => formatProblem(source, problem));
    super(
      'suite',
      `${source.file ? `file ${source.displayName}` : 'inline YAML'} is not a valid smoke suite (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    );
    this.name = 'SuiteError';
    this.problems = problems;
    this.source = source;
  }
}

export function formatProblem(source: SuiteSource, problem: SuiteProblem): string {
  const where = problem.line ? `${source.displayName}:${problem.line}:${problem.column ?? 1}` : source.displayName;
  const field = formatPointer(problem.pointer);
  return `${where}: ${field ? `${field}: ` : ''}${problem.message}`;
}

/** checks[2].expect.json["$.status"]: how a person would point at the field. */
export function formatPointer(pointer: string[]): string {
  let text = '';
  for (const segment of pointer) {
    if (/^\d+$/.test(segment)) text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * The suite input is inline YAML when it spans lines or looks like a mapping; otherwise a path,
 * relative to GITHUB_WORKSPACE (where actions/checkout puts the repository).
 */
export function readSuiteSource(value: string, workspace: string): SuiteSource {
  const looksInline = value.includes('\n') || /^\s*[{[]/.test(value) || /^\s*[\w-]+:\s/.test(value);
  if (looksInline) return { text: value, displayName: 'suite (inline)' };
  const file = path.resolve(workspace, value.trim());
  if (!existsSync(file)) {
    throw new InputError('suite', `names a file that does not exist: ${value.trim()} (looked for ${file}).`, {
      hint: 'Paths are relative to GITHUB_WORKSPACE: check out the repository first (actions/checkout), or pass the suite as inline YAML.',
    });
  }
  if (!statSync(file).isFile()) throw new InputError('suite', `names ${value.trim()}, which is not a file.`);
  const displayName = path.relative(workspace, file).startsWith('..') ? file : path.relative(workspace, file);
  return { text: readFileSync(file, 'utf8'), displayName, file };
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(suiteSchema);
  return compiled;
}

export interface ParsedSuite {
  suite: RawSuite;
  source: SuiteSource;
  /** Finds the line of a field, for problems found after schema validation. */
  locate(pointer: string[], atKey?: boolean): { line: number; column: number } | undefined;
}

/** Parses and schema-validates; throws SuiteError listing every problem with its line. */
export function parseSuite(source: SuiteSource): ParsedSuite {
  const lineCounter = new LineCounter();
  const document = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const locateOffset = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (document.errors.length > 0) {
    throw new SuiteError(
      source,
      document.errors.map((error) => ({
        pointer: [],
        message: `YAML syntax: ${error.message.split('\n')[0]}`,
        ...locateOffset(error.pos[0]),
      })),
    );
  }
  const data = document.toJS({ maxAliasCount: 100 }) as unknown;
  const locate = (pointer: string[], atKey = false) => {
    const offset = offsetOf(document, pointer, atKey);
    return offset === undefined ? undefined : locateOffset(offset);
  };
  const validate = validator();
  if (!validate(data)) {
    const problems = (validate.errors ?? [])
      .flatMap((error) => describeError(error))
      .map((problem) => ({ ...problem, ...locate(problem.pointer, problem.atKey) }));
    throw new SuiteError(source, dedupe(problems.map(({ atKey: _atKey, ...rest }) => rest)));
  }
  return { suite: data as RawSuite, source, locate };
}

function dedupe(problems: SuiteProblem[]): SuiteProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((problem) => {
      const key = `${problem.pointer.join('/')}|${problem.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Offset of the node at `pointer` (or of its key), falling back to the deepest node that exists. */
function offsetOf(document: Document, pointer: string[], atKey: boolean): number | undefined {
  let node: unknown = document.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (let index = 0; index < pointer.length; index++) {
    const segment = pointer[index];
    const last = index === pointer.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === segment);
      if (!pair) return offset;
      const key = pair.key as Node;
      if (last && atKey) return key.range?.[0] ?? offset;
      const value = pair.value as Node | null;
      // `field:` with nothing after it has no value node: point at the key.
      offset = value?.range?.[0] ?? key.range?.[0] ?? offset;
      node = value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

interface DescribedProblem extends SuiteProblem {
  atKey?: boolean;
}

type SchemaNode = {
  title?: string;
  description?: string;
  properties?: Record<string, unknown>;
  type?: string | string[];
};

function describeError(error: ErrorObject): DescribedProblem[] {
  const pointer = decodePointer(error.instancePath);
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  const data = error.data;
  const params = error.params as Record<string, unknown>;
  const got = `; got ${describeValue(data)}`;
  switch (error.keyword) {
    case 'if':
    case 'propertyNames':
      // `if` only says "must match then": the then-branch errors say what. propertyNames is
      // reported through its nested pattern error, which names the key.
      return [];
    case 'required': {
      const where = schema.title ? ` in this ${schema.title}` : '';
      return [{ pointer, message: `missing required field "${params.missingProperty}"${where}` }];
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(schema.properties ?? {});
      if (schema.title && OPERATOR_OBJECT_TITLES.includes(schema.title)) {
        const operatorNames = schema.title === 'assertion operators' ? [...ASSERTION_OPERATORS] : known;
        return [
          {
            pointer: [...pointer, name],
            atKey: true,
            message: `unknown assertion operator "${name}"${didYouMean(name, operatorNames)}; operators here: ${operatorNames.join(', ')}`,
          },
        ];
      }
      return [
        {
          pointer: [...pointer, name],
          atKey: true,
          message: `unknown field "${name}"${schema.title ? ` in a ${schema.title}` : ''}${didYouMean(name, known)}; allowed: ${known.join(', ')}`,
        },
      ];
    }
    case 'pattern': {
      if (error.propertyName !== undefined) {
        return [
          {
            pointer: [...pointer, error.propertyName],
            atKey: true,
            message: `"${error.propertyName}" is not ${schema.description ?? `a name matching ${params.pattern}`}`,
          },
        ];
      }
      return [{ pointer, message: `must be ${schema.description ?? `a string matching ${params.pattern}`}${got}` }];
    }
    case 'type': {
      const types = ([] as string[]).concat(params.type as string | string[]);
      const expected =
        schema.description ??
        types
          .map((type) =>
            type === 'object'
              ? 'a mapping'
              : type === 'array'
                ? 'a list'
                : type === 'integer'
                  ? 'an integer'
                  : `a ${type}`,
          )
          .join(' or ');
      return [{ pointer, message: `must be ${expected}${got}` }];
    }
    case 'enum':
      return [
        {
          pointer,
          message: `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}${got}`,
        },
      ];
    case 'const':
      return [{ pointer, message: `must be ${JSON.stringify(params.allowedValue)}${got}` }];
    case 'minimum':
    case 'maximum':
      return [
        {
          pointer,
          message: `must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${params.limit}${schema.description ? ` (${schema.description})` : ''}${got}`,
        },
      ];
    case 'minItems':
      return [{ pointer, message: `must list at least ${params.limit} item${params.limit === 1 ? '' : 's'}` }];
    case 'minProperties':
      return [{ pointer, message: 'must not be empty' }];
    case 'minLength':
      return [{ pointer, message: 'must not be empty' }];
    default:
      return [{ pointer, message: error.message ?? `fails ${error.keyword}` }];
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/** A suggestion for a misspelt name: the known name at the smallest edit distance, if close. */
export function didYouMean(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
