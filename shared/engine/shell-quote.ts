/**
 * ssh always hands the remote side one command string, which the remote user's shell parses. So
 * for the SSH path (and only there) every argument is single-quoted: inside POSIX single quotes
 * nothing is special (`;`, `$(...)`, backticks, globs, newlines), and a single quote itself is
 * written as '\'' (close, escaped quote, reopen). Tags and service names are also restricted by
 * their input patterns; this is the second, independent layer.
 */
export function shellQuote(argument: string): string {
  if (argument.includes('\0'))
    throw new Error('An argument for the remote shell contains a NUL byte, which no shell can pass on.');
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The remote command line for `command args...`, run in `cwd` with `env` added to the login
 * environment (undefined removes a variable). `env(1)` sets the variables, so their values are
 * arguments too, quoted like the rest; names are checked because `env` would read `A=B=C` oddly.
 */
export function remoteCommandLine(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): string {
  const words: string[] = [];
  const env = Object.entries(options.env ?? {});
  if (env.length > 0) {
    words.push('env');
    for (const [name, value] of env) {
      if (!ENV_NAME.test(name)) throw new Error(`"${name}" is not a valid environment variable name.`);
      if (value === undefined) words.push('-u', shellQuote(name));
    }
    for (const [name, value] of env) if (value !== undefined) words.push(shellQuote(`${name}=${value}`));
  }
  words.push(shellQuote(command), ...args.map(shellQuote));
  const run = `exec ${words.join(' ')}`;
  if (!options.cwd) return run;
  // A directory named like an option ("-x") would be read as one by cd.
  const cwd = options.cwd.startsWith('-') ? `./${options.cwd}` : options.cwd;
  return `cd ${shellQuote(cwd)} && ${run}`;
}
