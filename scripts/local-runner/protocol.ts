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
  for (const mask of [...masks].filter((value) => value.length > 0).sort((a, b) => b.length - a.length)) text = text.split(mask).join('***');
  return text;
}

/** The runner's input variable name: `INPUT_` + name with spaces as `_`, upper-cased; hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}
