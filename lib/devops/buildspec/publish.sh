#!/usr/bin/env bash
# Publishes one build's artifacts into one environment's release bucket: every
# <name>-<sha>.zip / <name>-<sha>.tar.gz of the build output (and its SBOM, sbom-<sha>.cdx.json, which the
# deploy trigger's rule never sends it) goes to s3://$RELEASE_BUCKET/<biome>/<file>,
# SSE-KMS with the bucket's key, with the user metadata the deploy trigger orders and traces by.
# Every file must match its sha256 in the build's manifest; the manifest travels in the same artifact,
# so it counts only if its own sha256 is the one the build exported (MANIFEST_SHA256, which CodePipeline
# keeps with the execution, apart from the artifact) and it is the manifest of COMMIT_SHA. A release
# publishes commits of the release branch only, and published-at is the start time of the pipeline
# execution (never this step's clock).
#
# The publish CodeBuild projects embed this file in their inline buildspec (lib/devops/publish-project.ts)
# and set the variables below; it is never read from the source artifact, so a branch cannot change
# where or how it publishes. Everything is checked before the first upload: a bad input uploads nothing.
#
# Usage: publish.sh [artifact-dir]   (default: the current directory, the build output artifact)
# Needs: bash, jq, sha256sum, GNU date, the AWS CLI; CodeBuild sets CODEBUILD_INITIATOR.
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
command -v jq >/dev/null || fail "jq is not installed; the publish project's image must provide it"

[[ "$COMMIT_SHA" =~ ^[0-9a-f]{40}$ ]] ||
  fail "COMMIT_SHA '$COMMIT_SHA' is not a full 40-character lowercase commit id; the pipeline passes the source action's CommitId"
# Metadata values travel as JSON below; admit only characters that need no escaping.
[[ "$BRANCH" =~ ^[A-Za-z0-9._/-]+$ ]] ||
  fail "branch '$BRANCH' has characters other than letters, digits, '.', '_', '/', '-'; rename the branch and push again"
[[ "$PIPELINE_EXECUTION_ID" =~ ^[A-Za-z0-9-]+$ ]] || fail "PIPELINE_EXECUTION_ID '$PIPELINE_EXECUTION_ID' is not an execution id"
# Without the build's hash of the manifest nothing vouches for the manifest: refuse, never skip the check.
[ -n "${MANIFEST_SHA256:-}" ] ||
  fail "MANIFEST_SHA256 is not set: the pipeline passes the build's exported sha256 of $MANIFEST_FILE (#{Build.MANIFEST_SHA256}) to every publish action; without it the manifest cannot be trusted, so nothing was published"
[[ "$MANIFEST_SHA256" =~ ^[0-9a-f]{64}$ ]] ||
  fail "MANIFEST_SHA256 '$MANIFEST_SHA256' is not a sha256 (64 lowercase hex digits); the build exports the sha256sum of $MANIFEST_FILE"

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
  [ -z "${BIOME:-}" ] && [ -z "${RELEASE_BRANCH:-}" ] ||
    fail "set either BIOME and RELEASE_BRANCH (release) or SANDPIT_BRANCH_PREFIX (sandpit), not both"
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
  # A release publishes what was pushed to the release branch, nothing else (a manual start of the
  # release pipeline on another branch stops here, before it reaches any environment).
  [ -n "${RELEASE_BRANCH:-}" ] || fail "RELEASE_BRANCH is not set; the release pipeline passes its release branch (config.source.branch)"
  [ "$BRANCH" = "$RELEASE_BRANCH" ] ||
    fail "commit $COMMIT_SHA is from branch '$BRANCH', not the release branch '$RELEASE_BRANCH': the release pipeline publishes commits of '$RELEASE_BRANCH' only"
fi

# Only this commit's artifacts, named by the grammar the deploy trigger parses; anything else is a
# packaging bug that must stop the publication, not reach a workload account to be rejected there.
files=()
while IFS= read -r -d '' path; do
  file="${path#"$dir"/}"
  [ -f "$path" ] || fail "unexpected directory '$file' in the build output; the package step writes files only"
  [ "$file" = "$MANIFEST_FILE" ] && continue
  # The release's software bill of materials (lib/bundling/sbom.ts): published beside the artifacts.
  if [ "$file" = "sbom-$COMMIT_SHA.cdx.json" ]; then
    sbom="$file"
    continue
  fi
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

# The bytes must be the ones the build packaged: each file's sha256 must match the build's manifest,
# which must list exactly these files.
manifest="$dir/$MANIFEST_FILE"
[ -f "$manifest" ] || fail "no $MANIFEST_FILE in the build output: the package step writes it next to the artifacts"
# The manifest is trusted only as the build wrote it: anyone who could change the files in the artifact
# could rewrite the manifest with them, but not the hash the build exported to CodePipeline.
manifest_sha256="$(sha256sum "$manifest" | cut -d' ' -f1)"
[ "$manifest_sha256" = "$MANIFEST_SHA256" ] ||
  fail "$MANIFEST_FILE has sha256 $manifest_sha256 but the build exported MANIFEST_SHA256 $MANIFEST_SHA256: the build output changed after packaging; refusing to publish"
jq -e '.artifacts | type == "array"' "$manifest" >/dev/null 2>&1 ||
  fail "$MANIFEST_FILE is not a manifest (a JSON object with an 'artifacts' array)"
manifest_commit="$(jq -r '.sha | tostring' "$manifest")"
[ "$manifest_commit" = "$COMMIT_SHA" ] ||
  fail "$MANIFEST_FILE is the manifest of commit '$manifest_commit', not of $COMMIT_SHA that this execution publishes; refusing to publish"
declare -A in_output=()
for file in "${files[@]}"; do in_output["$file"]=1; done
while IFS= read -r file; do
  [ -n "${in_output["$file"]:-}" ] || fail "$MANIFEST_FILE lists '$file', which is not in the build output"
done < <(jq -r '.artifacts[] | .file | tostring' "$manifest")
for file in "${files[@]}"; do
  expected="$(jq -r --arg f "$file" '[.artifacts[] | select(.file == $f) | .sha256] | if length == 1 then .[0] else "" end' "$manifest")"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] ||
    fail "artifact '$file' has no single sha256 entry in $MANIFEST_FILE; refusing to publish bytes the build did not record"
  actual="$(sha256sum "$dir/$file" | cut -d' ' -f1)"
  [ "$actual" = "$expected" ] ||
    fail "artifact '$file' has sha256 $actual but $MANIFEST_FILE records $expected: the build output changed after packaging; refusing to publish"
done

# The SBOM, when the build made one, must be the one its manifest records, and only then.
sbom_expected="$(jq -r '.sbom.sha256 // empty' "$manifest")"
if [ -n "${sbom:-}" ] || [ -n "$sbom_expected" ]; then
  [ -n "${sbom:-}" ] || fail "$MANIFEST_FILE lists an SBOM, but sbom-$COMMIT_SHA.cdx.json is not in the build output"
  [ "$(jq -r '.sbom.file // empty' "$manifest")" = "$sbom" ] && [[ "$sbom_expected" =~ ^[0-9a-f]{64}$ ]] ||
    fail "'$sbom' is not recorded as the SBOM in $MANIFEST_FILE; refusing to publish bytes the build did not record"
  actual="$(sha256sum "$dir/$sbom" | cut -d' ' -f1)"
  [ "$actual" = "$sbom_expected" ] ||
    fail "'$sbom' has sha256 $actual but $MANIFEST_FILE records $sbom_expected: the build output changed after packaging; refusing to publish"
fi

# One publication time for the whole set, and the deploy trigger orders publications by it: the start
# time of this pipeline execution, so an older commit whose build finishes later (parallel sandpit
# executions) still sorts before a newer one. Read from the pipeline that started this build.
initiator="${CODEBUILD_INITIATOR:-}"
[[ "$initiator" =~ ^codepipeline/([A-Za-z0-9.@_-]+)$ ]] ||
  fail "CODEBUILD_INITIATOR '$initiator' does not name a pipeline (codepipeline/<name>): publish runs as a pipeline action, whose execution start time becomes published-at"
pipeline="${BASH_REMATCH[1]}"
# The execution is running, so it is among the most recent: look through at most max_pages pages.
max_pages=10
page_size=100
started=""
token=""
for ((page = 1; page <= max_pages; page++)); do
  args=(codepipeline list-pipeline-executions --pipeline-name "$pipeline" --max-items "$page_size" --output json)
  [ -z "$token" ] || args+=(--starting-token "$token")
  response="$(aws "${args[@]}")" ||
    fail "cannot read the executions of pipeline '$pipeline' (codepipeline:ListPipelineExecutions); published-at must be the execution's start time, so nothing was published"
  started="$(jq -r --arg id "$PIPELINE_EXECUTION_ID" \
    '[.pipelineExecutionSummaries[]? | select(.pipelineExecutionId == $id) | .startTime | tostring] | .[0] // empty' \
    <<<"$response")" || fail "unreadable ListPipelineExecutions response for pipeline '$pipeline'"
  [ -z "$started" ] || break
  token="$(jq -r '.NextToken // empty' <<<"$response")"
  [ -n "$token" ] || break
done
[ -n "$started" ] ||
  fail "execution $PIPELINE_EXECUTION_ID is not among the latest $((max_pages * page_size)) executions of pipeline '$pipeline', so its start time is unknown; refusing to stamp published-at with the clock"
# The CLI prints ISO-8601 with an offset (v2) or epoch seconds (v1); published-at is UTC with milliseconds.
if [[ "$started" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  when="@$started"
elif [[ "$started" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$ ]]; then
  when="$started"
else
  fail "start time '$started' of execution $PIPELINE_EXECUTION_ID is not a timestamp; refusing to stamp published-at with the clock"
fi
published_at="$(date -u -d "$when" +%Y-%m-%dT%H:%M:%S.%3NZ 2>/dev/null)" || published_at=""
[[ "$published_at" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]] ||
  fail "start time '$started' of execution $PIPELINE_EXECUTION_ID cannot be converted to UTC; refusing to stamp published-at with the clock"
metadata="{\"$META_COMMIT_SHA\":\"$COMMIT_SHA\",\"$META_BRANCH\":\"$BRANCH\",\"$META_PUBLISHED_AT\":\"$published_at\",\"$META_PIPELINE_EXECUTION_ID\":\"$PIPELINE_EXECUTION_ID\"}"
for file in "${files[@]}"; do
  echo "publish: $file -> s3://$RELEASE_BUCKET/$biome/$file"
  aws s3 cp "$dir/$file" "s3://$RELEASE_BUCKET/$biome/$file" \
    --only-show-errors \
    --sse aws:kms --sse-kms-key-id "$RELEASE_KEY_ARN" \
    --metadata "$metadata"
done
if [ -n "${sbom:-}" ]; then
  echo "publish: $sbom -> s3://$RELEASE_BUCKET/$biome/$sbom"
  aws s3 cp "$dir/$sbom" "s3://$RELEASE_BUCKET/$biome/$sbom" \
    --only-show-errors \
    --sse aws:kms --sse-kms-key-id "$RELEASE_KEY_ARN" \
    --content-type application/vnd.cyclonedx+json \
    --metadata "$metadata"
fi
echo "publish: ${#files[@]} artifact(s) of $COMMIT_SHA${sbom:+ and its SBOM} published to $biome in $RELEASE_BUCKET at $published_at"
