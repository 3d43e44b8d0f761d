import semver, { type SemVer } from 'semver';

/**
 * Release tags are `<prefix><semver>`: v1.2.3, api-v1.2.3. One repository can hold several
 * components' tags, so a tag without the configured prefix belongs to someone else and is skipped;
 * a tag with the prefix that is not a semantic version (v1.2, vnext) is skipped with a note.
 */

/** The version a tag names, or undefined when it is not `<prefix><semver>`. */
export function parseReleaseTag(tag: string, prefix: string): SemVer | undefined {
  if (!tag.startsWith(prefix)) return undefined;
  const rest = tag.slice(prefix.length);
  // semver.valid would accept "v1.2.3" after a "" prefix and "=1.2.3": only the plain grammar counts.
  if (!/^\d/.test(rest)) return undefined;
  return semver.parse(rest) ?? undefined;
}

export type TagSource = 'git' | 'github-tags' | 'github-releases';

export interface TagObservation {
  tag: string;
  source: TagSource;
  /** The commit the tag points at, when the source says. */
  commit?: string;
  /** From a GitHub release. */
  prerelease?: boolean;
  draft?: boolean;
}

export interface ReleaseTag {
  tag: string;
  version: SemVer;
  sources: TagSource[];
  commit?: string;
  /** A semver pre-release (1.2.0-rc.1) or a GitHub release marked pre-release. */
  prerelease: boolean;
  /** Only a draft release names it: the tag does not exist yet. */
  draftOnly: boolean;
  /** The tag exists in the local checkout (so its files can be read with git). */
  inGit: boolean;
}

export interface IgnoredTag {
  tag: string;
  reason: string;
}

export interface TagCatalog {
  prefix: string;
  /** Release tags, newest version first. */
  releases: ReleaseTag[];
  /** Tags carrying the prefix that are not semantic versions. */
  ignored: IgnoredTag[];
  /** How many tags lacked the prefix (other components' tags), skipped without a note each. */
  otherPrefix: number;
  byTag: Map<string, ReleaseTag>;
}

export function buildTagCatalog(observations: readonly TagObservation[], prefix: string): TagCatalog {
  const byTag = new Map<string, ReleaseTag>();
  const ignored = new Map<string, IgnoredTag>();
  const other = new Set<string>();
  for (const observation of observations) {
    const version = parseReleaseTag(observation.tag, prefix);
    if (!version) {
      if (observation.tag.startsWith(prefix) && observation.source !== 'github-releases') {
        ignored.set(observation.tag, { tag: observation.tag, reason: `not a semantic version after the prefix "${prefix}"` });
      } else if (!observation.tag.startsWith(prefix)) other.add(observation.tag);
      continue;
    }
    const entry = byTag.get(observation.tag) ?? {
      tag: observation.tag,
      version,
      sources: [],
      prerelease: version.prerelease.length > 0,
      draftOnly: true,
      inGit: false,
    };
    if (!entry.sources.includes(observation.source)) entry.sources.push(observation.source);
    if (entry.commit === undefined) entry.commit = observation.commit;
    if (observation.source === 'git') entry.inGit = true;
    if (observation.prerelease) entry.prerelease = true;
    if (!(observation.source === 'github-releases' && observation.draft)) entry.draftOnly = false;
    byTag.set(observation.tag, entry);
  }
  const releases = [...byTag.values()].sort((a, b) => semver.rcompare(a.version, b.version) || a.tag.localeCompare(b.tag));
  return { prefix, releases, ignored: [...ignored.values()], otherPrefix: other.size, byTag };
}

export interface PredecessorOptions {
  sameMajor: boolean;
  sameMinor: boolean;
  allowPrerelease: boolean;
  skipTags: readonly string[];
}

export interface PredecessorResult {
  release?: ReleaseTag;
  /** Releases older than current passed over on the way, with why (newest first). */
  passedOver: IgnoredTag[];
}

/** Why a release may not be a rollback target, or undefined when it may. */
export function unsuitableReason(release: ReleaseTag, options: Pick<PredecessorOptions, 'allowPrerelease' | 'skipTags'>): string | undefined {
  if (options.skipTags.includes(release.tag)) return 'listed in skip-tags';
  if (release.draftOnly) return 'only a draft release, no tag yet';
  if (release.prerelease && !options.allowPrerelease) return 'a pre-release (set allow-prerelease: true to allow it)';
  return undefined;
}

/** The newest suitable release older than `current`: the semver predecessor among release tags. */
export function previousRelease(catalog: TagCatalog, current: SemVer, options: PredecessorOptions): PredecessorResult {
  const passedOver: IgnoredTag[] = [];
  for (const release of catalog.releases) {
    if (!semver.lt(release.version, current)) continue;
    if ((options.sameMajor || options.sameMinor) && release.version.major !== current.major) {
      passedOver.push({ tag: release.tag, reason: `major version differs from ${current.major} (same-major)` });
      continue;
    }
    if (options.sameMinor && release.version.minor !== current.minor) {
      passedOver.push({ tag: release.tag, reason: `minor version differs from ${current.major}.${current.minor} (same-minor)` });
      continue;
    }
    const reason = unsuitableReason(release, options);
    if (reason) {
      passedOver.push({ tag: release.tag, reason });
      continue;
    }
    return { release, passedOver };
  }
  return { passedOver };
}
