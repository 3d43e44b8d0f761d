import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The runner side of the protocol between the GitHub runner and a step: file commands
 * (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE: `name=value` or `name<<DELIMITER`) and workflow commands
 * on stdout (`::error file=x::message`), parsed as the runner parses them.
 */
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line === '') continue;
    const heredoc = line.indexOf('<<');
    const equals = line.indexOf('=');
    if (heredoc > 0 && (equals < 0 || heredoc < equals)) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      const body: string[] = [];
      index++;
      while (index < lines.length && lines[index].replace(/\r$/, '') !== delimiter) body.push(lines[index++]);
      if (index >= lines.length) throw new Error(`file command for "${name}" has no closing delimiter ${delimiter}`);
      values[name] = body.join('\n');
    } else if (equals > 0) {
      values[line.slice(0, equals)] = line.slice(equals + 1);
    } else {
      throw new Error(`invalid file command line: ${line}`);
    }
  }
  return values;
}

/** The file-command files the runner creates, empty, for each step, by their variable names. */
export interface FileCommandFiles {
  GITHUB_OUTPUT: string;
  GITHUB_ENV: string;
  GITHUB_PATH: string;
  GITHUB_STATE: string;
  GITHUB_STEP_SUMMARY: string;
}

/** What a step left in its file-command files. */
export interface FileCommands {
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  state: Record<string, string>;
  summary: string;
}

/** Creates a fresh, empty set of file-command files in dir (created if missing), as the runner does before a step. */
export function createFileCommandFiles(dir: string): FileCommandFiles {
  mkdirSync(dir, { recursive: true });
  const files: FileCommandFiles = {
    GITHUB_OUTPUT: path.join(dir, `set_output_${randomUUID()}`),
    GITHUB_ENV: path.join(dir, `set_env_${randomUUID()}`),
    GITHUB_PATH: path.join(dir, `add_path_${randomUUID()}`),
    GITHUB_STATE: path.join(dir, `save_state_${randomUUID()}`),
    GITHUB_STEP_SUMMARY: path.join(dir, `step_summary_${randomUUID()}`),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  return files;
}

/** Reads back what the step wrote to its file-command files, as the runner does after it. */
export function readFileCommands(files: FileCommandFiles): FileCommands {
  return {
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    exportedEnv: parseFileCommand(readFileSync(files.GITHUB_ENV, 'utf8')),
    addedPath: readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean),
    state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function unescapeProperty(text: string): string {
  return unescapeData(text).replace(/%3A/g, ':').replace(/%2C/g, ',');
}

/** Parses `::command key=value,key=value::message` (the runner's ActionCommand.TryParseV2). */
export function parseWorkflowCommand(line: string): WorkflowCommand | undefined {
  const match = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
  if (!match) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of (match[2] ?? '').split(',')) {
    const equals = pair.indexOf('=');
    if (equals > 0) properties[pair.slice(0, equals)] = unescapeProperty(pair.slice(equals + 1));
  }
  return { command: match[1], properties, message: unescapeData(match[3]) };
}

/** Replaces every registered secret with ***, longest first (as the runner's masker does). */
export function maskLine(line: string, masks: Iterable<string>): string {
  let text = line;
  for (const mask of [...masks].filter((value) => value.length > 0).sort((a, b) => b.length - a.length))
    text = text.split(mask).join('***');
  return text;
}

/** The runner's input variable name: `INPUT_` + name with spaces as `_`, upper-cased; hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}
