import { compareNewestFirst, isParsed, parseTag, type ReleaseVersion, type TagScheme } from './tag-scheme.js';

/**
 * Release tags as the repository's tag scheme (tag-scheme.ts) reads them: `<prefix><semver>` by
 * default. One repository can hold several components' tags, so a tag outside the scheme belongs to
 * someone else and is skipped; a tag the scheme recognises that names no version (v1.2, vnext) is
 * skipped with a note.
 */

export type TagSource = 'git' | 'github-tags' | 'github-releases';

export interface TagObservation {
  tag: string;
  source: TagSource;
  /** The commit the tag points at, when the source says. */
  commit?: string;
  /** From a GitHub release. */
  prerelease?: boolean;
  draft?: boolean;
  /** When the tag was made (unix seconds): git's creator date, a GitHub release's created_at. */
  created?: number;
}

export interface ReleaseTag {
  tag: string;
  version: ReleaseVersion;
  sources: TagSource[];
  commit?: string;
  /** A semver pre-release (1.2.0-rc.1) or a GitHub release marked pre-release (a date tag's rc is not one). */
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
  scheme: TagScheme;
  /** Release tags, newest first in the scheme's order. */
  releases: ReleaseTag[];
  /** Tags the scheme recognises that name no version. */
  ignored: IgnoredTag[];
  /** How many tags were outside the scheme (other components' tags), skipped without a note each. */
  otherPrefix: number;
  byTag: Map<string, ReleaseTag>;
}

export function buildTagCatalog(observations: readonly TagObservation[], scheme: TagScheme): TagCatalog {
  const byTag = new Map<string, ReleaseTag>();
  const ignored = new Map<string, IgnoredTag>();
  const other = new Set<string>();
  for (const observation of observations) {
    const parsed = parseTag(scheme, observation.tag);
    if (!isParsed(parsed)) {
      if (parsed === undefined) other.add(observation.tag);
      else if (observation.source !== 'github-releases')
        ignored.set(observation.tag, { tag: observation.tag, reason: parsed.reason });
      continue;
    }
    const entry = byTag.get(observation.tag) ?? {
      tag: observation.tag,
      version: parsed,
      sources: [],
      prerelease: (parsed.semver?.prerelease.length ?? 0) > 0,
      draftOnly: true,
      inGit: false,
    };
    if (!entry.sources.includes(observation.source)) entry.sources.push(observation.source);
    if (entry.commit === undefined) entry.commit = observation.commit;
    // git's own date wins over a release's: it is the tag's, the release's may be later.
    if (observation.created !== undefined && (entry.version.created === undefined || observation.source === 'git'))
      entry.version.created = observation.created;
    if (observation.source === 'git') entry.inGit = true;
    if (observation.prerelease) entry.prerelease = true;
    if (!(observation.source === 'github-releases' && observation.draft)) entry.draftOnly = false;
    byTag.set(observation.tag, entry);
  }
  if (scheme.order === 'created') {
    for (const entry of byTag.values()) {
      if (entry.version.created !== undefined) continue;
      byTag.delete(entry.tag);
      ignored.set(entry.tag, {
        tag: entry.tag,
        reason: 'its creation time is unknown (a tag only the GitHub tags API lists: fetch it with "fetch-depth: 0")',
      });
    }
  }
  const releases = [...byTag.values()].sort(
    (a, b) => compareNewestFirst(scheme.order, a.version, b.version) || a.tag.localeCompare(b.tag),
  );
  return { scheme, releases, ignored: [...ignored.values()], otherPrefix: other.size, byTag };
}

/** Whether `a` is an older release than `b` in the catalog's order. */
export function isOlder(catalog: TagCatalog, a: ReleaseTag, b: ReleaseTag): boolean {
  return compareNewestFirst(catalog.scheme.order, a.version, b.version) > 0;
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
export function unsuitableReason(
  release: ReleaseTag,
  options: Pick<PredecessorOptions, 'allowPrerelease' | 'skipTags'>,
): string | undefined {
  if (options.skipTags.includes(release.tag)) return 'listed in skip-tags';
  if (release.draftOnly) return 'only a draft release, no tag yet';
  if (release.prerelease && !options.allowPrerelease) return 'a pre-release (set allow-prerelease: true to allow it)';
  return undefined;
}

/** The newest suitable release older than `current` in the catalog's order. */
export function previousRelease(
  catalog: TagCatalog,
  currentRelease: ReleaseTag,
  options: PredecessorOptions,
): PredecessorResult {
  const passedOver: IgnoredTag[] = [];
  // same-major and same-minor are accepted with tag-order "semver" only, where every version is one.
  const current = currentRelease.version.semver;
  for (const release of catalog.releases) {
    if (!isOlder(catalog, release, currentRelease)) continue;
    const version = release.version.semver;
    if (current && version && (options.sameMajor || options.sameMinor) && version.major !== current.major) {
      passedOver.push({ tag: release.tag, reason: `major version differs from ${current.major} (same-major)` });
      continue;
    }
    if (current && version && options.sameMinor && version.minor !== current.minor) {
      passedOver.push({
        tag: release.tag,
        reason: `minor version differs from ${current.major}.${current.minor} (same-minor)`,
      });
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
