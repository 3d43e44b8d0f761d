/**
 * Checks the wiring of workflows that actionlint cannot see: what this repository's actions and
 * reusable workflows declare (inputs, secrets, outputs) against what callers pass and reference.
 * Workflows are read with GitHub's own parser (@actions/workflow-parser) and expressions with GitHub's
 * expression parser (@actions/expressions), so a reference inside a string literal is not a reference
 * and `${{ }}` inside block scalars, `format()` and bare `if:` conditions are all seen.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { data, Lexer, Parser } from '@actions/expressions';
import {
  ContextAccess,
  Expr,
  FunctionCall,
  Grouping,
  IndexAccess,
  Literal,
  Logical,
  Binary,
  Unary,
} from '@actions/expressions/ast';
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import { ErrorPolicy } from '@actions/workflow-parser/model/convert';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** How callers outside this repository name it: `rollback-actions/rollback-actions/actions/x@v1`. */
export const REPO_SLUG = 'rollback-actions/rollback-actions';

export interface Problem {
  /** Path relative to the repository root checked. */
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** What was checked, so a test can tell a clean result from a check that found nothing to look at. */
export interface Checked {
  /** Steps using this repository's actions whose inputs were checked. */
  actionSteps: number;
  /** Jobs calling this repository's reusable workflows whose inputs and secrets were checked. */
  workflowCalls: number;
  /** `steps.<id>...` references resolved. */
  stepReferences: number;
  /** `needs.<job>...` references resolved. */
  needsReferences: number;
  /** `jobs.<job>...` references of on.workflow_call.outputs resolved. */
  jobReferences: number;
}

export interface WorkflowReport {
  problems: Problem[];
  checked: Checked;
}

export function formatProblem(problem: Problem): string {
  const position = problem.line === undefined ? '' : `:${problem.line}:${problem.column ?? 1}`;
  return `${problem.file}${position}: ${problem.message}`;
}

/** Every workflow the repository ships: its own and the example callers in action-docs/examples. */
export function workflowFiles(repoRoot = REPO_ROOT): string[] {
  const files: string[] = [];
  for (const dir of ['.github/workflows', 'action-docs/examples']) {
    const absolute = path.join(repoRoot, dir);
    if (!existsSync(absolute)) continue;
    for (const name of readdirSync(absolute).sort()) if (/\.ya?ml$/.test(name)) files.push(path.join(dir, name));
  }
  return files;
}

// ---------------------------------------------------------------------------------------------------
// What this repository's actions and reusable workflows declare

interface InputSpec {
  required: boolean;
  hasDefault: boolean;
  type?: string;
}

interface ActionSpec {
  /** `actions/smoke-test`, as users know it. */
  label: string;
  inputs: Map<string, { name: string } & InputSpec>;
  outputs: Set<string>;
}

interface CalleeSpec {
  label: string;
  inputs: Map<string, { name: string } & InputSpec>;
  secrets: Map<string, { name: string; required: boolean }>;
  outputs: Set<string>;
}

type Loaded<T> = { spec: T } | { error: string };

const lower = (value: string) => value.toLowerCase();

/**
 * `./actions/x` or `rollback-actions/rollback-actions/actions/x@ref` -> `actions/x`; undefined for
 * actions of other repositories (their metadata is not here to check against).
 */
export function localPath(uses: string): string | undefined {
  if (uses.startsWith('./')) return path.posix.normalize(uses.slice(2)).replace(/\/$/, '');
  const at = uses.lastIndexOf('@');
  if (at < 0) return undefined;
  const reference = uses.slice(0, at);
  if (!lower(reference).startsWith(`${REPO_SLUG}/`)) return undefined;
  return path.posix.normalize(reference.slice(REPO_SLUG.length + 1)).replace(/\/$/, '');
}

class Declarations {
  private readonly actions = new Map<string, Loaded<ActionSpec>>();
  private readonly callees = new Map<string, Loaded<CalleeSpec>>();

  constructor(private readonly repoRoot: string) {}

  action(relative: string): Loaded<ActionSpec> {
    let loaded = this.actions.get(relative);
    if (!loaded) {
      loaded = this.loadAction(relative);
      this.actions.set(relative, loaded);
    }
    return loaded;
  }

  callee(relative: string): Loaded<CalleeSpec> {
    let loaded = this.callees.get(relative);
    if (!loaded) {
      loaded = this.loadCallee(relative);
      this.callees.set(relative, loaded);
    }
    return loaded;
  }

  private loadAction(relative: string): Loaded<ActionSpec> {
    const file = ['action.yml', 'action.yaml']
      .map((name) => path.join(this.repoRoot, relative, name))
      .find((candidate) => existsSync(candidate));
    if (!file) return { error: `action ${relative} does not exist (no ${relative}/action.yml)` };
    const metadata = parseYaml(readFileSync(file, 'utf8')) as {
      inputs?: Record<string, { required?: unknown; default?: unknown } | null>;
      outputs?: Record<string, unknown>;
    };
    const inputs = new Map<string, { name: string } & InputSpec>();
    for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
      inputs.set(lower(name), {
        name,
        required: spec?.required === true || spec?.required === 'true',
        hasDefault: spec?.default !== undefined,
      });
    }
    return { spec: { label: relative, inputs, outputs: new Set(Object.keys(metadata.outputs ?? {}).map(lower)) } };
  }

  private loadCallee(relative: string): Loaded<CalleeSpec> {
    const file = path.join(this.repoRoot, relative);
    if (!existsSync(file)) return { error: `reusable workflow ${relative} does not exist` };
    const parsed = parseWorkflow({ name: relative, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
    const on = parsed.value && isMapping(parsed.value) ? parsed.value.find('on') : undefined;
    const call =
      on && isMapping(on)
        ? on.find('workflow_call')
        : on && isString(on) && on.value === 'workflow_call'
          ? on
          : undefined;
    const callList =
      on && isSequence(on)
        ? [...iterateSequence(on)].some((event) => isString(event) && event.value === 'workflow_call')
        : false;
    if (!call && !callList) return { error: `${relative} is not a reusable workflow (it has no on.workflow_call)` };
    const definitions = call && isMapping(call) ? call : undefined;
    const inputs = new Map<string, { name: string } & InputSpec>();
    for (const [name, value] of entries(definitions?.find('inputs'))) {
      const spec = isMapping(value) ? value : undefined;
      const required = spec?.find('required');
      const type = spec?.find('type');
      inputs.set(lower(name), {
        name,
        required: !!required && isBoolean(required) && required.value,
        hasDefault: spec?.find('default') !== undefined,
        type: type && isString(type) ? type.value : undefined,
      });
    }
    const secrets = new Map<string, { name: string; required: boolean }>();
    for (const [name, value] of entries(definitions?.find('secrets'))) {
      const required = isMapping(value) ? value.find('required') : undefined;
      secrets.set(lower(name), { name, required: !!required && isBoolean(required) && required.value });
    }
    const outputs = new Set(entries(definitions?.find('outputs')).map(([name]) => lower(name)));
    return { spec: { label: relative, inputs, secrets, outputs } };
  }
}

// ---------------------------------------------------------------------------------------------------
// Token helpers

function* iterateSequence(token: TemplateToken | undefined): Generator<TemplateToken> {
  if (!token || !isSequence(token)) return;
  for (let index = 0; index < token.count; index++) yield token.get(index);
}

/** The string-keyed entries of a mapping token (an empty list for anything else). */
function entries(token: TemplateToken | undefined): [string, TemplateToken, TemplateToken][] {
  if (!token || !isMapping(token)) return [];
  const result: [string, TemplateToken, TemplateToken][] = [];
  for (const pair of token) if (isString(pair.key)) result.push([pair.key.value, pair.value, pair.key]);
  return result;
}

function literalString(token: TemplateToken | undefined): string | undefined {
  return token && isString(token) ? token.value : undefined;
}

/** The source text of a scalar, expressions included (a run script's text for output detection). */
function scalarText(token: TemplateToken | undefined): string | undefined {
  if (!token) return undefined;
  if (isString(token)) return token.value;
  if (isBasicExpression(token)) return token.source ?? token.expression;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Expressions

const CONTEXTS = [
  'github',
  'env',
  'vars',
  'secrets',
  'inputs',
  'matrix',
  'strategy',
  'needs',
  'steps',
  'job',
  'jobs',
  'runner',
];
const WORKFLOW_FUNCTIONS = [
  ...['success', 'failure', 'always', 'cancelled'].map((name) => ({ name, minArgs: 0, maxArgs: 0 })),
  { name: 'hashFiles', minArgs: 1, maxArgs: 255 },
];
/** A dynamic index (`steps[matrix.id]`) is a segment nothing can be checked against. */
const DYNAMIC = Symbol('dynamic');
type Segment = string | typeof DYNAMIC;

/** Property paths rooted in a context, e.g. ['steps', 'plan', 'outputs', 'strategy'], outermost only. */
function contextPaths(expression: string): Segment[][] {
  const parsed = new Parser(new Lexer(expression).lex().tokens, CONTEXTS, WORKFLOW_FUNCTIONS).parse();
  const found: Segment[][] = [];
  const chain = (expr: Expr): Segment[] | undefined => {
    if (expr instanceof ContextAccess) return [lower(expr.name.lexeme)];
    if (expr instanceof IndexAccess) {
      const base = chain(expr.expr);
      if (!base) return undefined;
      const index = expr.index;
      const segment =
        index instanceof Literal && index.literal instanceof data.StringData ? index.literal.value : DYNAMIC;
      return [...base, segment];
    }
    return undefined;
  };
  const visit = (expr: Expr): void => {
    const path = chain(expr);
    if (path) found.push(path);
    if (expr instanceof IndexAccess) {
      // The chain's own segments are recorded above; dynamic indexes may hold references of their own.
      let current: Expr = expr;
      while (current instanceof IndexAccess) {
        if (!(current.index instanceof Literal)) visit(current.index);
        current = current.expr;
      }
      if (!path) visit(current);
    } else if (expr instanceof FunctionCall) expr.args.forEach(visit);
    else if (expr instanceof Logical) expr.args.forEach(visit);
    else if (expr instanceof Binary) [expr.left, expr.right].forEach(visit);
    else if (expr instanceof Unary) visit(expr.expr);
    else if (expr instanceof Grouping) visit(expr.group);
  };
  visit(parsed);
  return found;
}

interface FoundExpression {
  expression: string;
  token: TemplateToken;
}

/** Every expression under a token: `${{ }}` anywhere, and the bare expression of an `if:` value. */
function expressionsIn(token: TemplateToken | undefined, bareIf = false): FoundExpression[] {
  if (!token) return [];
  if (bareIf && isString(token)) {
    const whole = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(token.value);
    return [{ expression: whole ? whole[1] : token.value, token }];
  }
  const found: FoundExpression[] = [];
  for (const [, inner] of TemplateToken.traverse(token)) {
    if (isBasicExpression(inner)) found.push({ expression: inner.expression, token: inner });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// The checker

interface StepInfo {
  id?: string;
  label: string;
  /** The declared outputs, or undefined when they cannot be known (actions of other repositories). */
  outputs?: Set<string>;
  /** The text of a run script, whose `name=` / `name<<` writes to $GITHUB_OUTPUT declare outputs. */
  script?: string;
  describe: string;
}

interface JobInfo {
  id: string;
  token: MappingToken;
  needs: string[];
  /** Declared outputs, or undefined when unknowable (a reusable workflow of another repository). */
  outputs?: Set<string>;
  steps: StepInfo[];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Paths of script files in the repository a run script may execute. */
const SIBLING_SCRIPT = /\/([\w.-]+\.(?:sh|bash))\b/g;
const SCRIPT_FILE = /(?<![\w./-])(?:\.\/)?[\w.-]+(?:\/[\w.-]+)*\.(?:sh|bash|js|mjs|cjs|ts|py)\b/g;

function writesOutput(script: string, name: string): boolean {
  return new RegExp(`(?<![\\w-])${escapeRegExp(name)}(=|<<)`, 'i').test(script);
}

class WorkflowChecker {
  readonly problems: Problem[] = [];
  readonly checked: Checked = {
    actionSteps: 0,
    workflowCalls: 0,
    stepReferences: 0,
    needsReferences: 0,
    jobReferences: 0,
  };
  private jobs = new Map<string, JobInfo>();

  constructor(
    private readonly file: string,
    private readonly repoRoot: string,
    private readonly declarations: Declarations,
    /** Lines where GitHub's parser already reported an error (an invalid expression is reported once). */
    private readonly parserErrorLines: Set<number>,
  ) {}

  report(token: TemplateToken | undefined, message: string): void {
    const start = token?.range?.start;
    const problem = { file: this.file, line: start?.line, column: start?.column, message };
    // The same reference written twice in one value is one mistake.
    if (!this.problems.some((known) => formatProblem(known) === formatProblem(problem))) this.problems.push(problem);
  }

  check(root: TemplateToken): void {
    if (!isMapping(root)) return;
    for (const [id, value] of entries(root.find('jobs'))) {
      if (isMapping(value)) this.jobs.set(lower(id), this.describeJob(id, value));
    }
    for (const job of this.jobs.values()) this.checkJob(job);
    this.checkWorkflowCallOutputs(root);
  }

  private describeJob(id: string, token: MappingToken): JobInfo {
    const needsToken = token.find('needs');
    const needs =
      needsToken && isSequence(needsToken)
        ? [...iterateSequence(needsToken)].map(literalString)
        : [literalString(needsToken)];
    let outputs: Set<string> | undefined = new Set(entries(token.find('outputs')).map(([name]) => lower(name)));
    const uses = literalString(token.find('uses'));
    if (uses !== undefined) {
      const callee = localPath(uses);
      const loaded = callee === undefined ? undefined : this.declarations.callee(callee);
      outputs = loaded && 'spec' in loaded ? loaded.spec.outputs : undefined;
    }
    const steps = [...iterateSequence(token.find('steps'))].map((step, index) => this.describeStep(step, index));
    return { id, token, needs: needs.filter((need): need is string => need !== undefined).map(lower), outputs, steps };
  }

  private describeStep(step: TemplateToken, index: number): StepInfo {
    const mapping = isMapping(step) ? step : undefined;
    const id = literalString(mapping?.find('id'));
    const name = literalString(mapping?.find('name'));
    const label = id ? `step "${id}"` : name ? `step ${index + 1} ("${name}")` : `step ${index + 1}`;
    const uses = literalString(mapping?.find('uses'));
    if (uses !== undefined) {
      const local = localPath(uses);
      const loaded = local === undefined ? undefined : this.declarations.action(local);
      return {
        id,
        label,
        outputs: loaded && 'spec' in loaded ? loaded.spec.outputs : undefined,
        describe: `the action ${uses}`,
      };
    }
    const script = scalarText(mapping?.find('run')) ?? '';
    // Outputs are often written by a script file the step runs (`bash .github/scripts/report.sh`),
    // or by one that script sources in turn (`source "$(dirname "$0")/lib.sh"`).
    const files: string[] = [];
    const texts = [script];
    const follow = (text: string, dir: string | undefined) => {
      // Inside a script file, `.../name.sh` may be relative to the script's own directory.
      const siblings = dir ? [...text.matchAll(SIBLING_SCRIPT)].map((match) => match[1]) : [];
      for (const match of [...(text.match(SCRIPT_FILE) ?? []), ...siblings]) {
        const candidates = [path.normalize(match), ...(dir ? [path.join(dir, path.basename(match))] : [])];
        const file = candidates.find((candidate) => existsSync(path.join(this.repoRoot, candidate)));
        if (!file || files.includes(file)) continue;
        files.push(file);
        const content = readFileSync(path.join(this.repoRoot, file), 'utf8');
        texts.push(content);
        follow(content, path.dirname(file));
      }
    };
    follow(script, undefined);
    const text = texts.join('\n');
    return {
      id,
      label,
      outputs: new Set(),
      script: text,
      describe: files.length ? `its run script (with ${files.join(', ')})` : 'its run script',
    };
  }

  private checkJob(job: JobInfo): void {
    const where = `job "${job.id}"`;
    for (const [key, value] of entries(job.token)) {
      if (key === 'steps') continue;
      // Job outputs are evaluated when every step has run; nothing else at job level may see steps.
      const visibleSteps = key === 'outputs' ? job.steps.length : 0;
      for (const found of expressionsIn(value, key === 'if'))
        this.checkExpression(found, job, visibleSteps, `${where}, ${key}`);
    }
    const uses = job.token.find('uses');
    if (uses && isString(uses)) this.checkWorkflowCall(job, uses.value, uses);
    [...iterateSequence(job.token.find('steps'))].forEach((step, index) => {
      if (!isMapping(step)) return;
      const stepWhere = `${where}, ${job.steps[index].label}`;
      for (const [key, value] of entries(step)) {
        for (const found of expressionsIn(value, key === 'if')) this.checkExpression(found, job, index, stepWhere);
      }
      const stepUses = step.find('uses');
      if (stepUses && isString(stepUses)) this.checkActionInputs(step, stepUses.value, stepUses, stepWhere);
    });
  }

  private checkActionInputs(step: MappingToken, uses: string, usesToken: TemplateToken, where: string): void {
    const local = localPath(uses);
    if (local === undefined) return;
    const loaded = this.declarations.action(local);
    if ('error' in loaded) {
      this.report(usesToken, `${where}: ${loaded.error}`);
      return;
    }
    const { spec } = loaded;
    this.checked.actionSteps++;
    const given = entries(step.find('with'));
    const givenNames = new Set(given.map(([name]) => lower(name)));
    const declared = [...spec.inputs.values()].map((input) => input.name).join(', ');
    for (const [name, , keyToken] of given) {
      if (!spec.inputs.has(lower(name)))
        this.report(keyToken, `${where}: input "${name}" is not declared by ${spec.label} (it declares: ${declared})`);
    }
    for (const input of spec.inputs.values()) {
      if (input.required && !input.hasDefault && !givenNames.has(lower(input.name))) {
        this.report(usesToken, `${where}: required input "${input.name}" of ${spec.label} is not provided`);
      }
    }
  }

  private checkWorkflowCall(job: JobInfo, uses: string, usesToken: TemplateToken): void {
    const where = `job "${job.id}"`;
    const local = localPath(uses);
    if (local === undefined) return;
    const loaded = this.declarations.callee(local);
    if ('error' in loaded) {
      this.report(usesToken, `${where}: ${loaded.error}`);
      return;
    }
    const { spec } = loaded;
    this.checked.workflowCalls++;
    const inputs = entries(job.token.find('with'));
    const inputNames = new Set(inputs.map(([name]) => lower(name)));
    for (const [name, value, keyToken] of inputs) {
      const input = spec.inputs.get(lower(name));
      if (!input) {
        this.report(keyToken, `${where}: input "${name}" is not declared in on.workflow_call.inputs of ${spec.label}`);
      } else if (input.type === 'boolean' && !isBoolean(value) && !isBasicExpression(value)) {
        this.report(
          value,
          `${where}: input "${name}" of ${spec.label} is a boolean; got ${JSON.stringify(value.toString())}`,
        );
      } else if (input.type === 'number' && !isNumber(value) && !isBasicExpression(value)) {
        this.report(
          value,
          `${where}: input "${name}" of ${spec.label} is a number; got ${JSON.stringify(value.toString())}`,
        );
      }
    }
    for (const input of spec.inputs.values()) {
      if (input.required && !inputNames.has(lower(input.name))) {
        this.report(usesToken, `${where}: required input "${input.name}" of ${spec.label} is not provided`);
      }
    }
    const secretsToken = job.token.find('secrets');
    if (secretsToken && isString(secretsToken) && secretsToken.value === 'inherit') return;
    const secrets = entries(secretsToken);
    const secretNames = new Set(secrets.map(([name]) => lower(name)));
    for (const [name, , keyToken] of secrets) {
      if (!spec.secrets.has(lower(name)))
        this.report(
          keyToken,
          `${where}: secret "${name}" is not declared in on.workflow_call.secrets of ${spec.label}`,
        );
    }
    for (const secret of spec.secrets.values()) {
      if (secret.required && !secretNames.has(lower(secret.name))) {
        this.report(usesToken, `${where}: required secret "${secret.name}" of ${spec.label} is not provided`);
      }
    }
  }

  private parsePaths(found: FoundExpression, where: string): Segment[][] {
    try {
      return contextPaths(found.expression);
    } catch (error) {
      const line = found.token.range?.start.line;
      if (line !== undefined && this.parserErrorLines.has(line)) return [];
      this.report(
        found.token,
        `${where}: cannot parse expression "${found.expression.trim()}": ${(error as Error).message}`,
      );
      return [];
    }
  }

  /** `visibleSteps`: how many of the job's steps have run where the expression is evaluated. */
  private checkExpression(found: FoundExpression, job: JobInfo, visibleSteps: number, where: string): void {
    for (const segments of this.parsePaths(found, where)) {
      const [context, first, property, name] = segments;
      if (typeof first !== 'string') continue;
      const text = segments.map((segment) => (typeof segment === 'string' ? segment : '[*]')).join('.');
      const fail = (message: string) => this.report(found.token, `${where}: ${text}: ${message}`);
      if (context === 'steps') {
        this.checked.stepReferences++;
        this.checkStepReference(job, visibleSteps, first, property, name, fail);
      } else if (context === 'needs') {
        this.checked.needsReferences++;
        this.checkNeedsReference(job, first, property, name, fail);
      }
    }
  }

  private checkStepReference(
    job: JobInfo,
    visibleSteps: number,
    id: string,
    property: Segment | undefined,
    name: Segment | undefined,
    fail: (message: string) => void,
  ): void {
    const index = job.steps.findIndex((step) => step.id !== undefined && lower(step.id) === id);
    if (index < 0) return fail(`no step with id "${id}" in job "${job.id}"`);
    if (index >= visibleSteps) return fail(`step "${id}" has not run yet here (a step can only read steps before it)`);
    if (property === undefined || property === DYNAMIC) return;
    if (property === 'outcome' || property === 'conclusion') return;
    if (property !== 'outputs') return fail(`"${property}" is not a step property (outputs, outcome, conclusion)`);
    if (typeof name !== 'string') return;
    const step = job.steps[index];
    if (step.script !== undefined) {
      if (!writesOutput(step.script, name)) fail(`${step.describe} never writes "${name}" to $GITHUB_OUTPUT`);
    } else if (step.outputs && !step.outputs.has(name)) {
      fail(`${step.describe} declares no output "${name}"`);
    }
  }

  private checkNeedsReference(
    job: JobInfo,
    needed: string,
    property: Segment | undefined,
    name: Segment | undefined,
    fail: (message: string) => void,
  ): void {
    if (!job.needs.includes(needed)) {
      return fail(
        this.jobs.has(needed)
          ? `job "${needed}" is not in the needs of job "${job.id}"`
          : `there is no job "${needed}" in this workflow`,
      );
    }
    if (property === undefined || property === DYNAMIC || property === 'result') return;
    if (property !== 'outputs') return fail(`"${property}" is not a needs property (outputs, result)`);
    const target = this.jobs.get(needed);
    if (typeof name === 'string' && target?.outputs && !target.outputs.has(name))
      fail(`job "${target.id}" declares no output "${name}"`);
  }

  private checkWorkflowCallOutputs(root: MappingToken): void {
    const on = root.find('on');
    const call = on && isMapping(on) ? on.find('workflow_call') : undefined;
    const outputs = call && isMapping(call) ? call.find('outputs') : undefined;
    for (const [outputName, definition] of entries(outputs)) {
      const where = `on.workflow_call.outputs.${outputName}`;
      const value = isMapping(definition) ? definition.find('value') : undefined;
      for (const found of expressionsIn(value)) {
        for (const segments of this.parsePaths(found, where)) {
          const [context, jobId, property, name] = segments;
          if (context !== 'jobs' || typeof jobId !== 'string') continue;
          const text = segments.map((segment) => (typeof segment === 'string' ? segment : '[*]')).join('.');
          const fail = (message: string) => this.report(found.token, `${where}: ${text}: ${message}`);
          this.checked.jobReferences++;
          const job = this.jobs.get(jobId);
          if (!job) fail(`there is no job "${jobId}" in this workflow`);
          else if (property !== undefined && property !== DYNAMIC && property !== 'result' && property !== 'outputs')
            fail(`"${property}" is not a job property (outputs, result)`);
          else if (property === 'outputs' && typeof name === 'string' && job.outputs && !job.outputs.has(name))
            fail(`job "${job.id}" declares no output "${name}"`);
        }
      }
    }
  }
}

/** Parses one workflow and returns every problem: the parser's own errors, then the wiring checks. */
export async function checkWorkflow(relativeFile: string, repoRoot = REPO_ROOT): Promise<WorkflowReport> {
  const content = readFileSync(path.join(repoRoot, relativeFile), 'utf8');
  const parsed = parseWorkflow({ name: relativeFile, content }, new NoOperationTraceWriter());
  // Conversion adds the model-level errors (needs on unknown jobs, cycles, bad cron) to the same list.
  if (parsed.value)
    await convertWorkflowTemplate(parsed.context, parsed.value, undefined, { errorPolicy: ErrorPolicy.TryConversion });
  const problems: Problem[] = parsed.context.errors.getErrors().map((error) => ({
    file: relativeFile,
    line: error.range?.start.line,
    column: error.range?.start.column,
    message: error.rawMessage,
  }));
  const checker = new WorkflowChecker(
    relativeFile,
    repoRoot,
    new Declarations(repoRoot),
    new Set(problems.flatMap((problem) => problem.line ?? [])),
  );
  if (parsed.value) checker.check(parsed.value);
  return { problems: [...problems, ...checker.problems], checked: checker.checked };
}
