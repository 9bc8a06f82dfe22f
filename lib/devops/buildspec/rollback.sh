#!/usr/bin/env bash
# Rolls one service or model of one biome of one environment back to an earlier commit, without a
# rebuild: the object <biome>/<name>-<sha>.zip (or .tar.gz) that the release pipeline published to this
# environment's release bucket is published again, the same bytes, with a new published-at, so
# replication carries it to the landing bucket and the deploy trigger puts it live by the usual path
# (smoke check or validation, ledger previousSha).
#
# ROLLBACK_STEP=check   refuses, before any change, anything but an object that is there: another
#                       environment, a name or SHA off the grammar, a SHA never published to this
#                       environment or expired (artifactRetentionDays), naming the SHAs that are.
# ROLLBACK_STEP=publish checks again, then copies the object onto itself with the contract metadata
#                       (commit-sha, branch of the original, published-at = now, pipeline-execution-id).
#
# The rollback projects embed this file in their inline buildspec (lib/devops/rollback-pipeline.ts);
# their role may write the bucket only by copying an object of the same bucket (s3:x-amz-copy-source).
# Needs: bash, jq, GNU date, the AWS CLI.
set -euo pipefail

fail() {
  echo "rollback: $*" >&2
  exit 1
}

for var in ROLLBACK_STEP ENV_NAME RELEASE_BUCKET RELEASE_KEY_ARN PIPELINE_EXECUTION_ID \
  BIOME_PATTERN BIOME_MIN_LENGTH BIOME_MAX_LENGTH RESERVED_BIOMES MAINLINE_BIOME \
  ARTIFACT_NAME_PATTERN ARTIFACT_NAME_MAX_LENGTH \
  META_COMMIT_SHA META_BRANCH META_PUBLISHED_AT META_PIPELINE_EXECUTION_ID; do
  [ -n "${!var:-}" ] || fail "environment variable $var is not set; the rollback project (lib/devops/rollback-pipeline.ts) must set it"
done
command -v jq >/dev/null || fail "jq is not installed; the rollback project's image must provide it"

env="${ROLLBACK_ENV:-}"
biome="${ROLLBACK_BIOME:-$MAINLINE_BIOME}"
name="${ROLLBACK_NAME:-}"
sha="${ROLLBACK_SHA:-}"
[ "$env" = "$ENV_NAME" ] ||
  fail "pipeline variable env is '$env', but this is the rollback pipeline of $ENV_NAME: start the pipeline of that environment (npm run rollback -- --env <env> ...)"
if [ "${#biome}" -lt "$BIOME_MIN_LENGTH" ] || [ "${#biome}" -gt "$BIOME_MAX_LENGTH" ] ||
  ! [[ "$biome" =~ $BIOME_PATTERN ]] || [[ "$biome" == *--* ]] ||
  { [ "$biome" != "$MAINLINE_BIOME" ] && [[ " $RESERVED_BIOMES " == *" $biome "* ]]; }; then
  fail "pipeline variable biome '$biome' is not a biome name ($BIOME_PATTERN, $BIOME_MIN_LENGTH-$BIOME_MAX_LENGTH characters, no '--', not one of: $RESERVED_BIOMES)"
fi
if [ -z "$name" ] || [ "${#name}" -gt "$ARTIFACT_NAME_MAX_LENGTH" ] || ! [[ "$name" =~ $ARTIFACT_NAME_PATTERN ]] ||
  [[ "$name" == *--* ]]; then
  fail "pipeline variable name '$name' is not a service or model name ($ARTIFACT_NAME_PATTERN, at most $ARTIFACT_NAME_MAX_LENGTH characters)"
fi
[[ "$sha" =~ ^[0-9a-f]{40}$ ]] || fail "pipeline variable sha '$sha' is not a full 40-character lowercase commit id"
[[ "$PIPELINE_EXECUTION_ID" =~ ^[A-Za-z0-9-]+$ ]] || fail "PIPELINE_EXECUTION_ID '$PIPELINE_EXECUTION_ID' is not an execution id"

# The object of that commit, if this environment still has it: its key and its metadata.
key=""
head=""
for ext in zip tar.gz; do
  candidate="$biome/$name-$sha.$ext"
  if out="$(aws s3api head-object --bucket "$RELEASE_BUCKET" --key "$candidate" --output json 2>/dev/null)"; then
    key="$candidate"
    head="$out"
    break
  fi
done
if [ -z "$key" ]; then
  # What this environment has of that name, newest first (the objects of other names share no prefix
  # with "<name>-<40 hex>", so only the SHA-shaped ones count).
  listed="$(aws s3api list-objects-v2 --bucket "$RELEASE_BUCKET" --prefix "$biome/$name-" --output json)" ||
    fail "could not list s3://$RELEASE_BUCKET/$biome/$name-*: the rollback project's role must allow s3:ListBucket"
  available="$(jq -r --arg p "$biome/$name-" '
    [(.Contents // [])[] | select(.Key | startswith($p))
      | {sha: (.Key | ltrimstr($p) | sub("\\.(zip|tar\\.gz)$"; "")), at: .LastModified}
      | select(.sha | test("^[0-9a-f]{40}$"))]
    | sort_by(.at) | reverse | .[0:5] | map("\(.sha) (published \(.at))") | join(", ")' <<<"$listed")"
  fail "$biome/$name at $sha was never published to $ENV_NAME, or has expired (the release bucket keeps artifacts for artifactRetentionDays); nothing was changed. Published there: ${available:-nothing of that name}"
fi
branch="$(jq -r --arg k "$META_BRANCH" '.Metadata[$k] // ""' <<<"$head")"
published="$(jq -r --arg k "$META_PUBLISHED_AT" '.Metadata[$k] // ""' <<<"$head")"
echo "rollback: s3://$RELEASE_BUCKET/$key is there (commit $sha, branch ${branch:-unknown}, published $published)"

case "$ROLLBACK_STEP" in
  check) exit 0 ;;
  publish) ;;
  *) fail "ROLLBACK_STEP '$ROLLBACK_STEP' is not check or publish" ;;
esac

now="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
metadata="$(jq -cn --arg c "$META_COMMIT_SHA" --arg cv "$sha" --arg b "$META_BRANCH" --arg bv "${branch:-rollback}" \
  --arg p "$META_PUBLISHED_AT" --arg pv "$now" --arg e "$META_PIPELINE_EXECUTION_ID" --arg ev "$PIPELINE_EXECUTION_ID" \
  '{($c): $cv, ($b): $bv, ($p): $pv, ($e): $ev}')"
aws s3api copy-object --bucket "$RELEASE_BUCKET" --key "$key" --copy-source "$RELEASE_BUCKET/$key" \
  --metadata-directive REPLACE --metadata "$metadata" \
  --server-side-encryption aws:kms --ssekms-key-id "$RELEASE_KEY_ARN" --output json >/dev/null
echo "rollback: published s3://$RELEASE_BUCKET/$key again at $now; the deploy trigger of $ENV_NAME puts $sha live (ledger: BIOME#$biome, HISTORY# of $name)"
