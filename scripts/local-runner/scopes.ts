import type { EnvironmentSettings } from './types.js';

/**
 * Which secrets and variables a job sees, as GitHub documents it ("Using secrets in GitHub
 * Actions", "Reuse workflows"):
 *  - a job of a top-level workflow sees the repository's secrets, and with `environment:` that
 *    environment's secrets on top (the environment's value wins for a name both define);
 *  - a job of a called workflow sees only the secrets its caller passed (by name, or all with
 *    `secrets: inherit`); with `environment:` the environment's value replaces a passed secret of
 *    the same name, and a secret the caller did not pass stays empty even if the environment has it;
 *  - variables: the repository's, with the job's environment's on top (in called workflows too).
 */
export type SecretScope =
  | { kind: 'repository'; values: Record<string, string> }
  | { kind: 'passed'; inherit: boolean; values: Record<string, string> };

export interface ResolvedSecrets {
  values: Record<string, string>;
  /** Where each value came from: "repository", "environment <name>" or "caller". */
  sources: Record<string, string>;
}

export function jobSecrets(
  scope: SecretScope,
  environment: { name: string; settings: EnvironmentSettings } | undefined,
): ResolvedSecrets {
  const values: Record<string, string> = { ...scope.values };
  const sources: Record<string, string> = Object.fromEntries(
    Object.keys(values).map((name) => [name, scope.kind === 'repository' ? 'repository' : 'caller']),
  );
  for (const [name, value] of Object.entries(environment?.settings.secrets ?? {})) {
    const visible = scope.kind === 'repository' || scope.inherit || name in scope.values;
    if (!visible) continue;
    values[name] = value;
    sources[name] = `environment ${environment!.name}`;
  }
  return { values, sources };
}

export function jobVars(
  repository: Record<string, string>,
  environment: EnvironmentSettings | undefined,
): Record<string, string> {
  return { ...repository, ...environment?.vars };
}

/** What a calling job passes on: everything it can see (inherit), or the named values it evaluated. */
export function passedSecrets(inherit: boolean, values: Record<string, string>): SecretScope {
  return { kind: 'passed', inherit, values };
}

/**
 * The masks a secret value adds, as the runner's worker registers them (actions/runner,
 * src/Runner.Worker/Worker.cs, InitializeSecretMasker): the whole trimmed value, and each of its
 * lines trimmed, since output is masked line by line.
 */
export function secretMasks(value: string): string[] {
  const trimmed = value.trim();
  if (!trimmed) return [];
  return [
    trimmed,
    ...trimmed
      .split(/[\r\n]+/)
      .map((line) => line.trim())
      .filter(Boolean),
  ];
}
