import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Reads the services' `image:` straight from compose files on the runner, interpolating variables
 * the way compose does, to save starting compose just to ask (`docker-compose config` costs ~0.4s,
 * a third of a whole redeploy on a small host). Deliberately partial: whenever the answer is not
 * certain (a service with `extends`, no `image`, a variable neither in the environment nor
 * defaulted, syntax it does not know) it returns undefined and the caller asks compose. Whatever
 * this says is checked again after `up` against the image the containers really run.
 */
export interface FileServiceConfig {
  /** Image reference with variables interpolated. */
  image: string;
  /** The image as written, before interpolation: whether it reads the tag variable shows here. */
  rawImage: string;
  healthcheck: boolean;
  /** deploy.placement.constraints (Swarm), e.g. ["node.role == manager"]. */
  constraints: string[];
}

type ServiceYaml = {
  image?: unknown;
  extends?: unknown;
  healthcheck?: { disable?: unknown; test?: unknown } | null;
  deploy?: { placement?: { constraints?: unknown } | null } | null;
};

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const TOKEN = new RegExp(`\\$(?:\\$|(${NAME})|\\{(${NAME})(?:(:?[-?+])([^}$]*))?\\}|(.))`, 'gs');

/**
 * Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt},
 * ${VAR+alt}, ${VAR:?err}, ${VAR?err}. Undefined when a variable is unset with no default, an
 * error form would fire, or the syntax is beyond this (nested expressions): compose decides those.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string | undefined {
  let unsure = false;
  const result = text.replace(
    TOKEN,
    (
      whole,
      bare: string | undefined,
      braced: string | undefined,
      operator: string | undefined,
      operand: string | undefined,
      stray: string | undefined,
    ) => {
      if (whole === '$$') return '$';
      if (stray !== undefined || (bare === undefined && braced === undefined)) {
        unsure = true;
        return whole;
      }
      const name = (bare ?? braced)!;
      const value = env[name];
      if (!operator) {
        if (value === undefined) unsure = true;
        return value ?? '';
      }
      const emptyCounts = operator.startsWith(':');
      const isSet = value !== undefined && (!emptyCounts || value !== '');
      switch (operator.replace(':', '')) {
        case '-':
          return isSet ? value! : operand!;
        case '+':
          return isSet ? operand! : '';
        default:
          if (!isSet) unsure = true;
          return value ?? '';
      }
    },
  );
  return unsure ? undefined : result;
}

/** A healthcheck is defined and not disabled (`disable: true` or test ["NONE"]). */
export function healthcheckDefined(healthcheck: ServiceYaml['healthcheck']): boolean {
  if (!healthcheck) return false;
  if (healthcheck.disable === true) return false;
  return !(Array.isArray(healthcheck.test) && healthcheck.test[0] === 'NONE');
}

/**
 * The named services' images from `files` (merged in order, later files win), or undefined when
 * any of them cannot be known for certain this way.
 */
export function resolveServicesFromFiles(
  workingDirectory: string,
  files: readonly string[],
  services: readonly string[],
  env: Record<string, string | undefined>,
): Record<string, FileServiceConfig> | undefined {
  if (files.length === 0) return undefined;
  const texts: string[] = [];
  for (const file of files) {
    try {
      texts.push(readFileSync(path.resolve(workingDirectory, file), 'utf8'));
    } catch {
      return undefined;
    }
  }
  return resolveServicesFromTexts(texts, services, env);
}

/**
 * The same from the files' contents (read wherever they are, e.g. on a Swarm manager over SSH);
 * `services` "all" resolves every service the files define.
 */
export function resolveServicesFromTexts(
  texts: readonly string[],
  services: readonly string[] | 'all',
  env: Record<string, string | undefined>,
): Record<string, FileServiceConfig> | undefined {
  const documents: { services?: Record<string, ServiceYaml | null> }[] = [];
  for (const text of texts) {
    try {
      const document = parseYaml(text, { merge: true }) as { services?: Record<string, ServiceYaml | null> } | null;
      if (!document || typeof document !== 'object') return undefined;
      documents.push(document);
    } catch {
      return undefined;
    }
  }
  const names =
    services === 'all' ? [...new Set(documents.flatMap((document) => Object.keys(document.services ?? {})))] : services;
  const resolved: Record<string, FileServiceConfig> = {};
  for (const service of names) {
    let rawImage: string | undefined;
    let healthcheck: ServiceYaml['healthcheck'] | undefined;
    let constraints: string[] = [];
    let defined = false;
    for (const document of documents) {
      const config = document.services?.[service];
      if (config === undefined) continue;
      defined = true;
      if (config === null) continue;
      if (config.extends !== undefined) return undefined;
      if (config.image !== undefined) {
        if (typeof config.image !== 'string') return undefined;
        rawImage = config.image;
      }
      if (config.healthcheck !== undefined) healthcheck = config.healthcheck;
      const placed = config.deploy?.placement?.constraints;
      if (placed !== undefined) {
        if (!Array.isArray(placed) || placed.some((constraint) => typeof constraint !== 'string')) return undefined;
        constraints = placed as string[];
      }
    }
    if (!defined || rawImage === undefined) return undefined;
    const image = interpolate(rawImage, env);
    if (image === undefined || image === '') return undefined;
    const interpolated = constraints.map((constraint) => interpolate(constraint, env));
    if (interpolated.some((constraint) => constraint === undefined)) return undefined;
    resolved[service] = {
      image,
      rawImage,
      healthcheck: healthcheckDefined(healthcheck),
      constraints: interpolated as string[],
    };
  }
  return resolved;
}

/** The Compose Specification's top-level and service keys, as compose 1.29's schema (compose_spec.json) lists them. */
const TOP_LEVEL_KEYS = new Set(['version', 'services', 'networks', 'volumes', 'secrets', 'configs']);
const SERVICE_KEYS = new Set(
  (
    'deploy build blkio_config cap_add cap_drop cgroup_parent command configs container_name cpu_count cpu_percent ' +
    'cpu_shares cpu_quota cpu_period cpu_rt_period cpu_rt_runtime cpus cpuset credential_spec depends_on ' +
    'device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file environment expose extends ' +
    'external_links extra_hosts group_add healthcheck hostname image init ipc isolation labels links logging ' +
    'mac_address mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable ' +
    'oom_score_adj pid pids_limit platform ports privileged profiles pull_policy read_only restart runtime scale ' +
    'security_opt shm_size secrets sysctls stdin_open stop_grace_period stop_signal storage_opt tmpfs tty ulimits ' +
    'user userns_mode volumes volumes_from working_dir'
  ).split(' '),
);

/**
 * Keys of the compose files that the Compose Specification does not define (top level, or of a
 * service), e.g. `services.api.restart_policy`; an empty list when every key is known, undefined
 * when the files cannot be read or parsed here. A quick look, not a validation: compose checks
 * everything again when it reads the project, and a key listed here may be one a newer compose
 * knows, so the caller asks compose before refusing anything.
 */
export function unknownComposeKeys(workingDirectory: string, files: readonly string[]): string[] | undefined {
  if (files.length === 0) return undefined;
  const unknown: string[] = [];
  for (const file of files) {
    let document: unknown;
    try {
      document = parseYaml(readFileSync(path.resolve(workingDirectory, file), 'utf8'), { merge: true });
    } catch {
      return undefined;
    }
    if (!document || typeof document !== 'object' || Array.isArray(document)) return undefined;
    const extension = (key: string) => key.startsWith('x-');
    for (const key of Object.keys(document))
      if (!TOP_LEVEL_KEYS.has(key) && !extension(key)) unknown.push(`${file}: ${key}`);
    const services = (document as { services?: unknown }).services;
    if (services === undefined) continue;
    if (!services || typeof services !== 'object' || Array.isArray(services)) return undefined;
    for (const [name, service] of Object.entries(services as Record<string, unknown>)) {
      if (service === null) continue;
      if (typeof service !== 'object' || Array.isArray(service)) return undefined;
      for (const key of Object.keys(service))
        if (!SERVICE_KEYS.has(key) && !extension(key)) unknown.push(`${file}: services.${name}.${key}`);
    }
  }
  return unknown;
}
