/**
 * Runs the real rollback script (lib/devops/buildspec/rollback.sh) with bash and a fake `aws` on the
 * PATH: `s3api head-object` answers from the objects the test puts in its fake bucket,
 * `list-objects-v2` lists them, `copy-object` is recorded (what would be re-published, with which
 * metadata and key).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACT_METADATA } from '../../lambda/shared/contracts';
import { publishContractVariables } from '../../lib/devops/publish-project';
import { ROLLBACK_ENV, ROLLBACK_SCRIPT } from '../../lib/devops/rollback-pipeline';

const SHA = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
const BUCKET = 'biomes-release-prod';

let work: string;
let calls: string;

/** Objects of the fake bucket: key -> { metadata, lastModified }. */
function bucket(objects: Record<string, { metadata: Record<string, string>; lastModified: string }>) {
  fs.writeFileSync(path.join(work, 'objects.json'), JSON.stringify(objects));
}

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-rollback-'));
  const bin = path.join(work, 'bin');
  calls = path.join(work, 'aws-calls');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'aws'),
    `#!/usr/bin/env bash
(IFS=$'\\x1f'; echo "$*") >> "${calls}"
objects="${work}/objects.json"
arg() { local want="$1"; shift; local prev=""; for a in "$@"; do [ "$prev" = "$want" ] && { echo "$a"; return; }; prev="$a"; done; }
case "$2" in
  head-object)
    key="$(arg --key "$@")"
    jq -e --arg k "$key" 'has($k)' "$objects" >/dev/null || { echo "An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 254; }
    jq --arg k "$key" '{Metadata: .[$k].metadata, LastModified: .[$k].lastModified}' "$objects" ;;
  list-objects-v2)
    prefix="$(arg --prefix "$@")"
    jq --arg p "$prefix" '{Contents: [to_entries[] | select(.key | startswith($p)) | {Key: .key, LastModified: .value.lastModified}]}' "$objects" ;;
  copy-object) echo '{}' ;;
  *) echo "unexpected aws call: $*" >&2; exit 1 ;;
esac
`,
    { mode: 0o755 },
  );
  bucket({
    [`main/ingest-${SHA}.zip`]: {
      metadata: {
        [ARTIFACT_METADATA.commitSha]: SHA,
        [ARTIFACT_METADATA.branch]: 'main',
        [ARTIFACT_METADATA.publishedAt]: '2026-11-20T10:00:00.000Z',
        [ARTIFACT_METADATA.pipelineExecutionId]: 'old-execution',
      },
      lastModified: '2026-11-20T10:05:00+00:00',
    },
    [`main/ingest-${NEWER}.zip`]: {
      metadata: { [ARTIFACT_METADATA.commitSha]: NEWER, [ARTIFACT_METADATA.branch]: 'main' },
      lastModified: '2026-12-01T10:05:00+00:00',
    },
    [`main/demo-scorer-${SHA}.tar.gz`]: {
      metadata: { [ARTIFACT_METADATA.commitSha]: SHA, [ARTIFACT_METADATA.branch]: 'main' },
      lastModified: '2026-11-20T10:05:00+00:00',
    },
    // Another name that shares the prefix "ingest-": never listed as a SHA of ingest.
    [`main/ingest-extra-${SHA}.zip`]: { metadata: {}, lastModified: '2026-12-02T00:00:00+00:00' },
  });
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function run(step: 'check' | 'publish', variables: Partial<Record<keyof typeof ROLLBACK_ENV, string>> = {}) {
  const env = {
    PATH: `${path.join(work, 'bin')}:${process.env.PATH ?? ''}`,
    ...publishContractVariables(),
    ENV_NAME: 'prod',
    RELEASE_BUCKET: BUCKET,
    RELEASE_KEY_ARN: KEY_ARN,
    [ROLLBACK_ENV.step]: step,
    [ROLLBACK_ENV.env]: variables.env ?? 'prod',
    [ROLLBACK_ENV.biome]: variables.biome ?? 'main',
    [ROLLBACK_ENV.name]: variables.name ?? 'ingest',
    [ROLLBACK_ENV.sha]: variables.sha ?? SHA,
    [ROLLBACK_ENV.pipelineExecutionId]: variables.pipelineExecutionId ?? 'rollback-execution-1',
  };
  const r = spawnSync('bash', [ROLLBACK_SCRIPT], { env, encoding: 'utf8' });
  const recorded = fs.existsSync(calls)
    ? fs
        .readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('\x1f'))
    : [];
  return { ...r, calls: recorded, copies: recorded.filter((c) => c[1] === 'copy-object') };
}

const argOf = (call: string[], name: string) => call[call.indexOf(name) + 1];

test('check: an object published there passes and changes nothing', () => {
  const r = run('check');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`s3://${BUCKET}/main/ingest-${SHA}.zip is there (commit ${SHA}, branch main`);
  expect(r.copies).toEqual([]);
});

test('publish: copies the object onto itself, SSE-KMS, with a new published-at and the original branch', () => {
  const before = Date.now();
  const r = run('publish');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.copies).toHaveLength(1);
  const copy = r.copies[0]!;
  expect(argOf(copy, '--key')).toBe(`main/ingest-${SHA}.zip`);
  expect(argOf(copy, '--copy-source')).toBe(`${BUCKET}/main/ingest-${SHA}.zip`);
  expect(argOf(copy, '--metadata-directive')).toBe('REPLACE');
  expect(argOf(copy, '--server-side-encryption')).toBe('aws:kms');
  expect(argOf(copy, '--ssekms-key-id')).toBe(KEY_ARN);
  const metadata = JSON.parse(argOf(copy, '--metadata')!) as Record<string, string>;
  expect(metadata).toEqual({
    [ARTIFACT_METADATA.commitSha]: SHA,
    [ARTIFACT_METADATA.branch]: 'main',
    [ARTIFACT_METADATA.publishedAt]: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    [ARTIFACT_METADATA.pipelineExecutionId]: 'rollback-execution-1',
  });
  // Newer than the original publication: the deploy trigger takes it as the newest decision.
  expect(Date.parse(metadata[ARTIFACT_METADATA.publishedAt]!)).toBeGreaterThanOrEqual(before - 1000);
});

test('a model is found as .tar.gz', () => {
  const r = run('publish', { name: 'demo-scorer' });
  expect(r.status).toBe(0);
  expect(argOf(r.copies[0]!, '--key')).toBe(`main/demo-scorer-${SHA}.tar.gz`);
});

test('a SHA never published there (or expired) is refused, naming the newest SHAs that are; nothing copied', () => {
  const r = run('publish', { sha: 'c'.repeat(40) });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `main/ingest at ${'c'.repeat(40)} was never published to prod, or has expired (the release bucket keeps artifacts for artifactRetentionDays); nothing was changed. Published there: ${NEWER} (published 2026-12-01T10:05:00+00:00), ${SHA} (published 2026-11-20T10:05:00+00:00)`,
  );
  expect(r.copies).toEqual([]);
});

test('a name with nothing published says so', () => {
  const r = run('check', { name: 'score' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('Published there: nothing of that name');
});

test.each([
  ['another environment', { env: 'staging' }, /this is the rollback pipeline of prod/],
  ['a short SHA', { sha: 'abc123' }, /sha 'abc123' is not a full 40-character lowercase commit id/],
  ['an off-grammar name', { name: 'Ingest' }, /name 'Ingest' is not a service or model name/],
  ['a name with a path', { name: '../x' }, /is not a service or model name/],
  ['an off-grammar biome', { biome: 'Alice' }, /biome 'Alice' is not a biome name/],
  ['a reserved biome', { biome: 'shared' }, /biome 'shared' is not a biome name/],
])('%s is refused before any AWS call', (_why, variables, message) => {
  const r = run('publish', variables);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.calls).toEqual([]);
});
