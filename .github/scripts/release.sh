#!/usr/bin/env bash
# Releases VERSION (X.Y.Z) from the checked-out commit: checks that package.json and CHANGELOG.md
# say X.Y.Z and that vX.Y.Z does not exist yet, tags vX.Y.Z (annotated) and moves vX to it when
# X.Y.Z is the newest vX release (a fix of an older line leaves vX alone), pushes both in one atomic
# push, and publishes a GitHub release with the changelog's section as notes.
# DRY_RUN=true does every check and creates the tags in this clone only: `git push --dry-run` shows
# what the push would do (the remote checks it too), and nothing is pushed or published.
# Env: VERSION, DRY_RUN, GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY. Run at the root of a checkout with all history and tags (fetch-depth: 0).
set -euo pipefail

fail() {
  echo "::error title=release::$1"
  exit 1
}

version="${VERSION#v}"
[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || fail "version must be X.Y.Z (semantic version without pre-release); got \"$VERSION\"."
tag="v$version"
major="v${BASH_REMATCH[1]}"
dry_run="${DRY_RUN:-false}"

manifest_version=$(jq -r .version package.json)
[ "$manifest_version" = "$version" ] || fail "package.json says version $manifest_version, not $version: bump it (and CHANGELOG.md) in a commit first."

# The release notes: the changelog's "## [X.Y.Z]" section, up to the next "## " heading.
notes=$(awk -v heading="## [$version]" 'index($0, heading) == 1 { found = 1; next } found && /^## / { exit } found { print }' CHANGELOG.md)
[ -n "$(echo "$notes" | tr -d '[:space:]')" ] || fail "CHANGELOG.md has no \"## [$version]\" section (or it is empty): write the release notes there first."

git rev-parse -q --verify "refs/tags/$tag" >/dev/null && fail "$tag already exists (on $(git rev-list -n 1 "$tag")); a release tag never moves: release a new version."
sha=$(git rev-parse HEAD)

# Move vX only when this is the highest vX.*.* release.
newest=$( (git tag --list "$major.*.*" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' || true; echo "$tag") | sort -V | tail -n 1)
move_major=false
[ "$newest" = "$tag" ] && move_major=true

bot=(-c user.name='github-actions[bot]' -c user.email='41898282+github-actions[bot]@users.noreply.github.com')
git "${bot[@]}" tag -a "$tag" -m "$tag" "$sha"
refspecs=("refs/tags/$tag")
if $move_major; then
  git tag -f "$major" "$sha" >/dev/null
  refspecs+=("+refs/tags/$major")
fi

push=(git push --atomic --porcelain origin "${refspecs[@]}")
$dry_run && push=(git push --dry-run --atomic --porcelain origin "${refspecs[@]}")
if ! report=$("${push[@]}" 2>&1); then
  echo "$report"
  fail "the push of ${refspecs[*]} was refused; nothing was released."
fi
# Porcelain lines: "<flag>\t<from>:<to>\t<summary>" for each ref ("*" new, "+" forced, " " fast-forward);
# listed here as "<tag> (<summary>)", the release tag first.
pushed=$(for ref in "$tag" "$major"; do
  echo "$report" | awk -F'\t' -v ref="refs/tags/$ref" 'NF >= 3 { split($2, sides, ":"); if (sides[1] == ref) print substr(ref, 11) " (" $3 ")" }'
done)

release_url=''
if ! $dry_run; then
  body=$(jq -n --arg tag "$tag" --arg notes "$notes" --argjson latest "$move_major" '{tag_name: $tag, name: $tag, body: $notes, make_latest: (if $latest then "true" else "false" end)}')
  release_url=$(curl -fsS -X POST -H "Authorization: Bearer $GITHUB_TOKEN" -H 'Accept: application/vnd.github+json' \
    "${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/releases" -d "$body" | jq -r .html_url) ||
    fail "$tag and ${major} were pushed, but the GitHub release could not be created: create it from the tag by hand."
fi

{
  echo "tag=$tag"
  echo "major-tag=$($move_major && echo "$major" || echo '')"
  echo "sha=$sha"
  echo "dry-run=$dry_run"
  echo "release-url=$release_url"
  echo 'pushed<<EOF_PUSHED'
  echo "$pushed"
  echo 'EOF_PUSHED'
} >>"$GITHUB_OUTPUT"

{
  if $dry_run; then echo "### Release $tag: dry run, nothing pushed"; else echo "### Released $tag"; fi
  echo
  echo "Commit \`$sha\`. $($dry_run && echo 'Would push' || echo 'Pushed'):"
  echo
  echo "$pushed" | sed 's/^/- /'
  if ! $move_major; then echo "- \`$major\` stays on $newest, the newest $major release."; fi
  if [ -n "$release_url" ]; then printf '\nGitHub release: %s\n' "$release_url"; fi
} >>"$GITHUB_STEP_SUMMARY"
echo "$($dry_run && echo 'Would push' || echo 'Pushed'): $(echo "$pushed" | paste -sd ';' | sed 's/;/; /g')"
