#!/usr/bin/env node
/**
 * rollback-actions: the suite's rollback workflows from a terminal (see README, "Break glass").
 * Exit codes: args.ts EXIT (documented in --help).
 */
import path from 'node:path';
import { ActionError } from '../shared/errors.js';
import { commandHelp, EXIT, mainHelp, parseArgs, stringOption, UsageError, type Parsed } from './args.js';
import { apiUrlOf } from './github.js';
import { runWorkflowCommand } from './run-workflow.js';
import { readSettings, SECRET_PREFIX, VAR_PREFIX, type Settings } from './settings.js';
import { appRepository, suiteRoot } from './suite.js';
import { runSync } from './sync.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
/** Masks the secrets once they are read (also in an error message). */
let mask = (text: string) => text;

/** Secrets leave this process's environment once read: only the runner's scoping hands them to steps. */
function takeSettings(options: Parsed['options']): Settings {
  const settings = readSettings(process.env, {
    secretsFile: stringOption(options, 'secrets-file'),
    varsFile: stringOption(options, 'vars-file'),
  });
  mask = settings.mask;
  for (const name of Object.keys(process.env))
    if (name.startsWith(SECRET_PREFIX) || name.startsWith(VAR_PREFIX) || name === 'GITHUB_TOKEN')
      delete process.env[name];
  return settings;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.command) {
    print(mainHelp());
    return EXIT.ok;
  }
  if (parsed.help) {
    print(commandHelp(parsed.command));
    return EXIT.ok;
  }
  const { options } = parsed;
  const settings = takeSettings(options);
  if (parsed.command === 'sync') {
    const ledger =
      stringOption(options, 'ledger') ?? settings.vars.ROLLBACK_LEDGER ?? settings.processEnv.ROLLBACK_LEDGER;
    if (!ledger)
      throw new UsageError(
        'sync: no ledger: pass --ledger <file> (or set ROLLBACK_VAR_ROLLBACK_LEDGER or ROLLBACK_LEDGER)',
      );
    return runSync({
      ledger,
      environment: stringOption(options, 'environment'),
      repository: await appRepository(stringOption(options, 'repository'), settings.processEnv, process.cwd()),
      token: settings.secrets.GITHUB_TOKEN,
      apiUrl: apiUrlOf(settings.processEnv),
      print: (line) => print(mask(line)),
    });
  }
  const appDir = path.resolve(stringOption(options, 'app-dir') ?? process.cwd());
  const environment =
    stringOption(options, 'environment') ??
    (parsed.command === 'drill' ? settings.vars.ROLLBACK_ENVIRONMENT || 'production' : undefined);
  if (!environment)
    throw new UsageError(
      `${parsed.command}: --environment is required (the environment to roll back, e.g. production)`,
    );
  const rollback = parsed.command === 'rollback';
  const recordDir = path.resolve(stringOption(options, 'record-dir') ?? 'rollback-records');
  return runWorkflowCommand({
    workflow: rollback ? 'rollback.yml' : 'rollback-drill.yml',
    inputs: rollback
      ? {
          environment,
          'target-tag': stringOption(options, 'target') ?? '',
          'dry-run': options['dry-run'] === true,
          reason: stringOption(options, 'reason') ?? 'Rolled back from a terminal (rollback-actions)',
          'db-policy': stringOption(options, 'db-policy') ?? 'auto',
        }
      : { environment },
    environment,
    appDir,
    repository: await appRepository(stringOption(options, 'repository'), settings.processEnv, appDir),
    suite: suiteRoot(),
    recordDir,
    backupDir: path.resolve(stringOption(options, 'backup-dir') ?? path.join(recordDir, 'backups')),
    yes: options.yes === true,
    settings,
    print,
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(mask(`rollback-actions: ${error.message}\n`));
      process.exit(EXIT.usage);
    }
    process.stderr.write(
      mask(
        `rollback-actions: ${error instanceof ActionError ? error.message : ((error as Error).stack ?? String(error))}\n`,
      ),
    );
    process.exit(EXIT.workflowFailed);
  },
);
