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

function checkedEnvName(name: string): string {
  // `env` and `export` would read `A=B=C` or `A B` oddly.
  if (!ENV_NAME.test(name)) throw new Error(`"${name}" is not a valid environment variable name.`);
  return name;
}

/**
 * The script a remote shell sources to set `env`'s values, or undefined when none is set. Values
 * (PGPASSWORD, DATABASE_URL) never go into a command line: ssh's own arguments on the runner and
 * the remote shell's on the host are readable by every user there (`ps`), for as long as the
 * command runs. The SSH executor writes this script to a mode-600 file on the host instead.
 */
export function remoteEnvScript(env: Record<string, string | undefined> = {}): string | undefined {
  const lines = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `export ${checkedEnvName(name)}=${shellQuote(value)}\n`);
  return lines.length > 0 ? lines.join('') : undefined;
}

/** Makes a private temp file on the host, fills it from stdin and prints its path. */
export const REMOTE_PRIVATE_FILE_LINE = 'umask 077 && f=$(mktemp) && cat > "$f" && printf %s "$f"';

/**
 * The remote command line for `command args...`, run in `cwd` with the variables `env` unsets
 * removed and those it sets read from `envFile` (written from remoteEnvScript), which is deleted
 * before the command starts. Setting a value without an envFile is refused: see remoteEnvScript.
 */
export function remoteCommandLine(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; envFile?: string } = {},
): string {
  const env = Object.entries(options.env ?? {});
  const unset = env.filter(([, value]) => value === undefined).map(([name]) => checkedEnvName(name));
  if (!options.envFile && env.some(([, value]) => value !== undefined))
    throw new Error('Environment values for a remote command must come from an env file, never its command line.');
  const words = unset.length > 0 ? ['env', ...unset.flatMap((name) => ['-u', shellQuote(name)])] : [];
  words.push(shellQuote(command), ...args.map(shellQuote));
  let line = `exec ${words.join(' ')}`;
  // A directory named like an option ("-x") would be read as one by cd.
  if (options.cwd) line = `cd ${shellQuote(options.cwd.startsWith('-') ? `./${options.cwd}` : options.cwd)} && ${line}`;
  if (!options.envFile) return line;
  const file = shellQuote(options.envFile);
  // Deleted whether or not it sourced cleanly; the command runs only if it did.
  return `. ${file}; sourced=$?; rm -f ${file}; [ "$sourced" -eq 0 ] && ${line}`;
}
