/**
 * GITHUB_TOKEN permissions as GitHub computes them for each job: the job's `permissions`, else the
 * workflow's, else the repository default; in a called workflow, the calling job's permissions are
 * a ceiling that no nested job may exceed (GitHub refuses the whole run at startup with "The nested
 * job 'x' is requesting 'scope: write', but is only allowed 'scope: read'").
 */
export type PermissionLevel = 'none' | 'read' | 'write';

/** The scopes the GITHUB_TOKEN can be given (docs: workflow syntax, `permissions`). */
export const PERMISSION_SCOPES = [
  'actions',
  'artifact-metadata',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;
export type PermissionScope = (typeof PERMISSION_SCOPES)[number];
export type Permissions = Record<PermissionScope, PermissionLevel>;

const RANK: Record<PermissionLevel, number> = { none: 0, read: 1, write: 2 };

function all(level: PermissionLevel): Permissions {
  return Object.fromEntries(
    PERMISSION_SCOPES.map((scope) => [scope, scope === 'id-token' && level === 'read' ? 'none' : level]),
  ) as Permissions;
}

/** The repository's default token (Settings → Actions → Workflow permissions): "restricted" is GitHub's default for new repositories. */
export function defaultPermissions(kind: 'restricted' | 'permissive'): Permissions {
  return kind === 'permissive' ? all('write') : { ...all('none'), contents: 'read', packages: 'read' };
}

/** A `permissions:` value (read-all, write-all, {} or a scope map) as a full map; undefined when absent. */
export function parsePermissions(spec: unknown, where: string): Permissions | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (spec === 'read-all') return all('read');
  if (spec === 'write-all') return all('write');
  if (typeof spec !== 'object' || Array.isArray(spec))
    throw new Error(`${where}: permissions must be read-all, write-all or a map of scopes`);
  const permissions = all('none');
  for (const [scope, level] of Object.entries(spec as Record<string, unknown>)) {
    if (!(PERMISSION_SCOPES as readonly string[]).includes(scope))
      throw new Error(`${where}: unknown permission scope "${scope}"`);
    if (level !== 'none' && level !== 'read' && level !== 'write')
      throw new Error(`${where}: permission ${scope} must be none, read or write; got ${String(level)}`);
    permissions[scope as PermissionScope] = level;
  }
  return permissions;
}

/** The first scope where `requested` asks for more than `allowed`, in GitHub's words; undefined when it fits. */
export function exceeds(requested: Permissions, allowed: Permissions): string | undefined {
  const scope = PERMISSION_SCOPES.find((candidate) => RANK[requested[candidate]] > RANK[allowed[candidate]]);
  return scope ? `'${scope}: ${requested[scope]}', but is only allowed '${scope}: ${allowed[scope]}'` : undefined;
}

/** Whether a token with `granted` may do what needs `scope` at `level`. */
export function allows(granted: Permissions, scope: PermissionScope, level: Exclude<PermissionLevel, 'none'>): boolean {
  return RANK[granted[scope]] >= RANK[level];
}
