/**
 * The command line of `rollback-actions`: commands, their options, their --help, and the exit
 * codes scripts can rely on. Parsing only; nothing runs here.
 */
export const EXIT = {
  ok: 0,
  /** The workflow ran and a job failed (or the run could not start). */
  workflowFailed: 1,
  /** Unknown command or option, a missing or invalid value: nothing was run. */
  usage: 2,
  /** The operator (or a missing --yes without a terminal) refused the rollback at the environment gate. */
  refused: 3,
} as const;

export class UsageError extends Error {}

interface OptionSpec {
  name: string;
  value?: string;
  help: string;
}

interface CommandSpec {
  summary: string;
  usage: string;
  options: OptionSpec[];
}

/** Options every command takes: where the repository and the settings come from, and help. */
const COMMON_OPTIONS: OptionSpec[] = [
  {
    name: 'repository',
    value: 'owner/name',
    help: 'The app repository on GitHub. Default: GITHUB_REPOSITORY, else the "origin" remote of the app clone (sync: of the current directory).',
  },
  {
    name: 'secrets-file',
    value: 'file',
    help: 'Secrets (GITHUB_TOKEN too) as JSON ({"NAME": "value"}) or dotenv (NAME=value) lines; ROLLBACK_SECRET_<NAME> variables win.',
  },
  {
    name: 'vars-file',
    value: 'file',
    help: 'Variables (vars.*, ROLLBACK_LEDGER too) as JSON or dotenv lines; ROLLBACK_VAR_<NAME> variables win.',
  },
  { name: 'help', help: 'Show this help.' },
];

const RUN_OPTIONS: OptionSpec[] = [
  {
    name: 'app-dir',
    value: 'dir',
    help: "The app repository's local clone (release tags, .github/smoke.yml, migrations). Default: the current directory.",
  },
  {
    name: 'record-dir',
    value: 'dir',
    help: 'Where the incident record, timeline and log are written (a folder per run). Default: ./rollback-records.',
  },
  {
    name: 'backup-dir',
    value: 'dir',
    help: "Where backup-db keeps its verified backups (there is no artifact service from a terminal); restore and the down migrations' backup check find them there. Default: <record-dir>/backups.",
  },
  ...COMMON_OPTIONS,
];

const EXIT_HELP = `Exit codes:
  0  done (a dry run, nothing to roll back, or a rollback that ended healthy)
  1  the workflow failed (a job failed; see the record and the log)
  2  bad usage (unknown option, missing value): nothing ran
  3  refused at the environment gate (answered no, or no terminal to ask and no --yes)`;

const ENV_HELP = `Secrets and variables:
  ROLLBACK_SECRET_<NAME>=value   secret NAME (e.g. ROLLBACK_SECRET_DATABASE_URL); never printed: every
                                 value is masked in the output and in the records as on GitHub (***)
  ROLLBACK_VAR_<NAME>=value      variable NAME (e.g. ROLLBACK_VAR_ROLLBACK_BASE_URL)
  GITHUB_TOKEN (or the secret GITHUB_TOKEN) and GITHUB_API_URL (default https://api.github.com):
  when GitHub answers, the release history comes from its deployments; when it does not (or no
  token), from the deployment ledger vars.ROLLBACK_LEDGER on this machine. The output and the
  incident record say which.`;

const COMMANDS: Record<string, CommandSpec> = {
  rollback: {
    summary:
      'Run the rollback workflow (rollback.yml) on this machine, with the same actions, and a confirmation at the environment gate.',
    usage: 'rollback-actions rollback --environment <env> [--target <tag>] [--dry-run] [--yes] [options]',
    options: [
      { name: 'environment', value: 'env', help: 'The environment to roll back (required).' },
      {
        name: 'target',
        value: 'tag',
        help: 'Release tag to roll back to. Default: the last known good release (GitHub deployments, or the ledger).',
      },
      { name: 'dry-run', help: 'Only plan (and show the down SQL); change nothing.' },
      { name: 'yes', help: 'Approve at the environment gate without asking (scripts).' },
      { name: 'reason', value: 'text', help: 'Why: goes into the incident record.' },
      {
        name: 'db-policy',
        value: 'policy',
        help: 'auto, image-only, down-migrations or restore-backup. Default: auto.',
      },
      ...RUN_OPTIONS,
    ],
  },
  drill: {
    summary: 'Run the rollback drill (rollback-drill.yml) on this machine.',
    usage: 'rollback-actions drill [--environment <env>] [options]',
    options: [
      {
        name: 'environment',
        value: 'env',
        help: 'The environment whose rollback is drilled. Default: vars.ROLLBACK_ENVIRONMENT or production.',
      },
      ...RUN_OPTIONS,
    ],
  },
  sync: {
    summary:
      'Record on GitHub, as deployments with statuses, what the ledger holds that GitHub does not (deploys and rollbacks made while it was unreachable).',
    usage: 'rollback-actions sync [--ledger <file>] [--environment <env>] [options]',
    options: [
      {
        name: 'ledger',
        value: 'file',
        help: 'The deployment ledger. Default: vars.ROLLBACK_LEDGER, else ROLLBACK_LEDGER.',
      },
      { name: 'environment', value: 'env', help: "Only this environment's entries. Default: all." },
      ...COMMON_OPTIONS,
    ],
  },
};

export function commandHelp(command: string): string {
  const spec = COMMANDS[command];
  const width = Math.max(
    ...spec.options.map((option) => `--${option.name}${option.value ? ` <${option.value}>` : ''}`.length),
  );
  const options = spec.options.map(
    (option) => `  ${`--${option.name}${option.value ? ` <${option.value}>` : ''}`.padEnd(width)}  ${option.help}`,
  );
  return [`${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Options:', ...options, '', ENV_HELP, '', EXIT_HELP].join(
    '\n',
  );
}

export function mainHelp(): string {
  return [
    'rollback-actions: the rollback workflows of rollback-actions, run from a terminal (break glass: also when GitHub is down).',
    '',
    'Usage: rollback-actions <command> [options]    (rollback-actions <command> --help for its options)',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(9)} ${spec.summary}`),
    '',
    ENV_HELP,
    '',
    EXIT_HELP,
  ].join('\n');
}

export interface Parsed {
  command?: string;
  help: boolean;
  options: Record<string, string | true>;
}

/** argv after the program name. Throws UsageError naming the option or command that is wrong. */
export function parseArgs(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { help: true, options: {} };
  const spec = COMMANDS[first];
  if (!spec) throw new UsageError(`unknown command "${first}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const options: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const option = match && spec.options.find((candidate) => candidate.name === match[1]);
    if (arg === '-h') {
      options.help = true;
      continue;
    }
    if (!match || !option)
      throw new UsageError(`${first}: unknown option "${arg}" (see rollback-actions ${first} --help)`);
    if (!option.value) {
      if (match[2] !== undefined) throw new UsageError(`${first}: --${option.name} takes no value`);
      options[option.name] = true;
      continue;
    }
    const value = match[2] ?? rest[++i];
    if (value === undefined || (match[2] === undefined && value.startsWith('--')))
      throw new UsageError(`${first}: --${option.name} needs a value (<${option.value}>)`);
    options[option.name] = value;
  }
  return { command: first, help: options.help === true, options };
}

export function stringOption(options: Parsed['options'], name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
