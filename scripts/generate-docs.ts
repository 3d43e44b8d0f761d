/**
 * Generates action-docs/<action>.md from each action.yml, and action-docs/workflows.md from the
 * reusable workflows' triggers, so the reference can never drift from the metadata the runner
 * reads. `--check` fails when the committed docs are stale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { actionNames, formatMarkdown, REPO_ROOT } from './actions.js';

export const ACTION_REPOSITORY = 'rollback-actions/rollback-actions';
const DOCS_DIR = path.join(REPO_ROOT, 'action-docs');
const GENERATED_NOTE = '<!-- Generated from action.yml by `npm run docs`; edit action.yml instead. -->';

interface Spec {
  name: string;
  description: string;
  inputs?: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description: string }>;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const cell = (text: string) => oneLine(text).replace(/\|/g, '\\|');

function usage(action: string, spec: Spec): string {
  const lines = [`- uses: ${ACTION_REPOSITORY}/actions/${action}@v1`, '  with:'];
  for (const [name, input] of Object.entries(spec.inputs ?? {})) {
    const value = input.required ? '' : JSON.stringify(input.default ?? '');
    lines.push(
      `    # ${oneLine(input.description).slice(0, 110)}${oneLine(input.description).length > 110 ? '...' : ''}`,
    );
    lines.push(`    # ${input.required ? 'Required.' : `Default: ${value}`}`);
    lines.push(`    ${name}: ${input.required ? "''" : value}`);
  }
  return lines.join('\n');
}

export function renderActionDoc(action: string): string {
  const spec = parseYaml(readFileSync(path.join(REPO_ROOT, 'actions', action, 'action.yml'), 'utf8')) as Spec;
  const inputs = Object.entries(spec.inputs ?? {});
  const outputs = Object.entries(spec.outputs ?? {});
  return [
    GENERATED_NOTE,
    `# ${action}: ${spec.name}`,
    '',
    oneLine(spec.description),
    '',
    '## Usage',
    '',
    '```yaml',
    usage(action, spec),
    '```',
    '',
    '## Inputs',
    '',
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...inputs.map(
      ([name, input]) =>
        `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${input.default ? `\`${cell(input.default)}\`` : ''} | ${cell(input.description)} |`,
    ),
    '',
    '## Outputs',
    '',
    '| Output | Description |',
    '| --- | --- |',
    ...outputs.map(([name, output]) => `| \`${name}\` | ${cell(output.description)} |`),
    '',
  ].join('\n');
}

function renderIndex(actions: string[]): string {
  const rows = actions.map((action) => {
    const spec = parseYaml(readFileSync(path.join(REPO_ROOT, 'actions', action, 'action.yml'), 'utf8')) as Spec;
    return `| [\`${action}\`](${action}.md) | ${cell(spec.description)} |`;
  });
  return [
    GENERATED_NOTE,
    '# Action reference',
    '',
    '| Action | What it does |',
    '| --- | --- |',
    ...rows,
    '',
    'Reusable workflows (inputs, secrets, outputs): [workflows.md](workflows.md). Example callers for an app repository: [examples/](examples/).',
    '',
  ].join('\n');
}

interface WorkflowTrigger {
  inputs?: Record<
    string,
    { description?: string; required?: boolean; default?: unknown; type?: string; options?: string[] }
  >;
  secrets?: Record<string, { description?: string; required?: boolean }>;
  outputs?: Record<string, { description?: string }>;
}

const REUSABLE_WORKFLOWS = ['rollback.yml', 'auto-rollback.yml', 'rollback-drill.yml'];

function renderWorkflows(): string {
  const sections = REUSABLE_WORKFLOWS.map((file) => {
    const text = readFileSync(path.join(REPO_ROOT, '.github', 'workflows', file), 'utf8');
    const workflow = parseYaml(text) as { name: string; on: Record<string, WorkflowTrigger | null> };
    // The file's leading comment is its description.
    const lines = text.split('\n');
    const leading = lines.slice(
      0,
      Math.max(
        0,
        lines.findIndex((line) => !line.startsWith('#')),
      ),
    );
    const about = leading
      .map((line) => line.replace(/^# ?/, ''))
      .join('\n')
      .trim();
    const call = workflow.on.workflow_call ?? {};
    const triggers = Object.keys(workflow.on)
      .map((name) => `\`${name}\``)
      .join(', ');
    const inputs = Object.entries(call.inputs ?? {});
    const secrets = Object.entries(call.secrets ?? {});
    const outputs = Object.entries(call.outputs ?? {});
    return [
      `## ${workflow.name} (\`${file}\`)`,
      '',
      '```text',
      about,
      '```',
      '',
      `Triggers: ${triggers}. Call it with \`uses: ${ACTION_REPOSITORY}/.github/workflows/${file}@v1\`.`,
      '',
      '| Input | Type | Required | Default | Description |',
      '| --- | --- | --- | --- | --- |',
      ...inputs.map(
        ([name, input]) =>
          `| \`${name}\` | ${input.type ?? 'string'} | ${input.required ? 'yes' : 'no'} | ${input.default !== undefined && input.default !== '' ? `\`${cell(String(input.default))}\`` : ''} | ${cell(input.description ?? '')} |`,
      ),
      '',
      '| Secret | Required | Description |',
      '| --- | --- | --- |',
      ...secrets.map(
        ([name, secret]) => `| \`${name}\` | ${secret.required ? 'yes' : 'no'} | ${cell(secret.description ?? '')} |`,
      ),
      '',
      '| Output | Description |',
      '| --- | --- |',
      ...outputs.map(([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`),
      '',
    ].join('\n');
  });
  return [GENERATED_NOTE.replaceAll('action.yml', 'the workflow file'), '# Reusable workflows', '', ...sections].join(
    '\n',
  );
}

const check = process.argv.includes('--check');
const actions = actionNames();
const rendered: [string, string][] = [
  ...actions.map((action) => [path.join(DOCS_DIR, `${action}.md`), renderActionDoc(action)] as [string, string]),
  [path.join(DOCS_DIR, 'README.md'), renderIndex(actions)],
  [path.join(DOCS_DIR, 'workflows.md'), renderWorkflows()],
];
const files = new Map<string, string>(
  await Promise.all(rendered.map(async ([file, text]) => [file, await formatMarkdown(text, file)] as [string, string])),
);
const stale = [...files]
  .filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text)
  .map(([file]) => path.relative(REPO_ROOT, file));
if (check) {
  if (stale.length > 0) {
    console.error(`Stale action docs (run npm run docs): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(`action-docs: ${files.size} file(s) up to date.`);
} else {
  mkdirSync(DOCS_DIR, { recursive: true });
  for (const [file, text] of files) writeFileSync(file, text);
  console.log(`action-docs: wrote ${files.size} file(s)${stale.length ? ` (${stale.length} changed)` : ''}.`);
}
