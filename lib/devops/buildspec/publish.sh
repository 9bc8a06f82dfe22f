#!/usr/bin/env bash
# Publishes one build's artifacts into one environment's release bucket: every
# <name>-<sha>.zip / <name>-<sha>.tar.gz of the build output goes to s3://$RELEASE_BUCKET/<biome>/<file>,
# SSE-KMS with the bucket's key, with the user metadata the deploy trigger orders and traces by.
#
# The publish CodeBuild projects embed this file in their inline buildspec (lib/devops/publish-project.ts)
# and set the variables below; it is never read from the source artifact, so a branch cannot change
# where or how it publishes. Everything is checked before the first upload: a bad input uploads nothing.
#
# Usage: publish.sh [artifact-dir]   (default: the current directory, the build output artifact)
set -euo pipefail

fail() {
  echo "publish: $*" >&2
  exit 1
}

for var in RELEASE_BUCKET RELEASE_KEY_ARN COMMIT_SHA BRANCH PIPELINE_EXECUTION_ID \
  BIOME_PATTERN BIOME_MIN_LENGTH BIOME_MAX_LENGTH RESERVED_BIOMES MAINLINE_BIOME \
  ARTIFACT_NAME_PATTERN ARTIFACT_NAME_MAX_LENGTH MANIFEST_FILE \
  META_COMMIT_SHA META_BRANCH META_PUBLISHED_AT META_PIPELINE_EXECUTION_ID; do
  [ -n "${!var:-}" ] || fail "environment variable $var is not set; the publish project (lib/devops/publish-project.ts) must set it"
done
dir="${1:-.}"
[ -d "$dir" ] || fail "artifact directory '$dir' does not exist"

[[ "$COMMIT_SHA" =~ ^[0-9a-f]{40}$ ]] ||
  fail "COMMIT_SHA '$COMMIT_SHA' is not a full 40-character lowercase commit id; the pipeline passes the source action's CommitId"
# Metadata values travel as JSON below; admit only characters that need no escaping.
[[ "$BRANCH" =~ ^[A-Za-z0-9._/-]+$ ]] ||
  fail "branch '$BRANCH' has characters other than letters, digits, '.', '_', '/', '-'; rename the branch and push again"
[[ "$PIPELINE_EXECUTION_ID" =~ ^[A-Za-z0-9-]+$ ]] || fail "PIPELINE_EXECUTION_ID '$PIPELINE_EXECUTION_ID' is not an execution id"

# biome_problem NAME ALLOW_MAINLINE: the same rules as biomeNameProblem in lambda/shared/grammar.ts,
# whose constants the publish project passes in.
biome_problem() {
  local name="$1" allow_mainline="$2"
  if [ "${#name}" -lt "$BIOME_MIN_LENGTH" ] || [ "${#name}" -gt "$BIOME_MAX_LENGTH" ]; then
    echo "\"$name\" must be $BIOME_MIN_LENGTH-$BIOME_MAX_LENGTH characters long (it has ${#name})"
  elif ! [[ "$name" =~ $BIOME_PATTERN ]]; then
    echo "\"$name\" must match $BIOME_PATTERN: lowercase letters, digits and single hyphens, starting with a letter"
  elif [[ "$name" == *--* ]]; then
    echo "\"$name\" must not contain \"--\""
  elif [ "$name" = "$MAINLINE_BIOME" ] && [ "$allow_mainline" = yes ]; then
    return 0
  elif [[ " $RESERVED_BIOMES " == *" $name "* ]]; then
    echo "\"$name\" is reserved ($RESERVED_BIOMES); pick another name for a sandpit"
  fi
}

# The biome: fixed by the release pipeline, or (sandpit) derived again here from the branch that
# CodePipeline reports, never taken from the build, whose code the branch's author controls.
if [ -n "${SANDPIT_BRANCH_PREFIX:-}" ]; then
  [ -z "${BIOME:-}" ] || fail "set either BIOME (release) or SANDPIT_BRANCH_PREFIX (sandpit), not both"
  [[ "$BRANCH" == "$SANDPIT_BRANCH_PREFIX"* ]] ||
    fail "branch '$BRANCH' is not a sandpit branch: sandpit branches are named ${SANDPIT_BRANCH_PREFIX}<biome>"
  biome="${BRANCH#"$SANDPIT_BRANCH_PREFIX"}"
  problem="$(biome_problem "$biome" no)"
  [ -z "$problem" ] || fail "branch '$BRANCH' does not name a valid sandpit biome: $problem"
else
  biome="${BIOME:-}"
  [ -n "$biome" ] || fail "BIOME is not set; the release pipeline publishes to the mainline biome"
  problem="$(biome_problem "$biome" yes)"
  [ -z "$problem" ] || fail "BIOME: $problem"
fi

# Only this commit's artifacts, named by the grammar the deploy trigger parses; anything else is a
# packaging bug that must stop the publication, not reach a workload account to be rejected there.
files=()
while IFS= read -r -d '' path; do
  file="${path#"$dir"/}"
  [ -f "$path" ] || fail "unexpected directory '$file' in the build output; the package step writes files only"
  [ "$file" = "$MANIFEST_FILE" ] && continue
  case "$file" in
    *-"$COMMIT_SHA".zip) name="${file%-"$COMMIT_SHA".zip}" ;;
    *-"$COMMIT_SHA".tar.gz) name="${file%-"$COMMIT_SHA".tar.gz}" ;;
    *) fail "unexpected file '$file' in the build output: expected <name>-$COMMIT_SHA.zip or <name>-$COMMIT_SHA.tar.gz (was it packaged from another commit?)" ;;
  esac
  if [ "${#name}" -gt "$ARTIFACT_NAME_MAX_LENGTH" ] || ! [[ "$name" =~ $ARTIFACT_NAME_PATTERN ]] || [[ "$name" == *--* ]]; then
    fail "artifact '$file': name '$name' must match $ARTIFACT_NAME_PATTERN without \"--\", at most $ARTIFACT_NAME_MAX_LENGTH characters"
  fi
  files+=("$file")
done < <(find "$dir" -mindepth 1 -maxdepth 1 -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || fail "no artifacts in the build output: expected <name>-$COMMIT_SHA.zip or .tar.gz files"

# One publication time for the whole set: the deploy trigger orders publications by it.
published_at="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
metadata="{\"$META_COMMIT_SHA\":\"$COMMIT_SHA\",\"$META_BRANCH\":\"$BRANCH\",\"$META_PUBLISHED_AT\":\"$published_at\",\"$META_PIPELINE_EXECUTION_ID\":\"$PIPELINE_EXECUTION_ID\"}"
for file in "${files[@]}"; do
  echo "publish: $file -> s3://$RELEASE_BUCKET/$biome/$file"
  aws s3 cp "$dir/$file" "s3://$RELEASE_BUCKET/$biome/$file" \
    --only-show-errors \
    --sse aws:kms --sse-kms-key-id "$RELEASE_KEY_ARN" \
    --metadata "$metadata"
done
echo "publish: ${#files[@]} artifact(s) of $COMMIT_SHA published to $biome in $RELEASE_BUCKET at $published_at"
