/**
 * Runs the real publish script (lib/devops/buildspec/publish.sh) with bash and a fake `aws` on the
 * PATH that records its arguments: what would be uploaded, where, with which metadata and key.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACT_METADATA } from '../../lambda/shared/contracts';
import { MANIFEST_FILE, PUBLISH_SCRIPT, publishContractVariables } from '../../lib/devops/publish-project';

const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';

let work: string;
let bin: string;
let calls: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-publish-'));
  bin = path.join(work, 'bin');
  calls = path.join(work, 'aws-calls');
  fs.mkdirSync(bin);
  // One line per call, arguments separated by a unit separator.
  fs.writeFileSync(path.join(bin, 'aws'), `#!/usr/bin/env bash\n(IFS=$'\\x1f'; echo "$*") >> "${calls}"\n`, {
    mode: 0o755,
  });
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function artifacts(files: string[]): string {
  const dir = path.join(work, 'dist');
  fs.mkdirSync(dir);
  for (const f of files) fs.writeFileSync(path.join(dir, f), `bytes of ${f}`);
  return dir;
}

function run(dir: string, env: Record<string, string | undefined>) {
  const base: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    ...publishContractVariables(),
    RELEASE_BUCKET: 'release-dev',
    RELEASE_KEY_ARN: KEY_ARN,
    COMMIT_SHA: SHA,
    BRANCH: 'main',
    PIPELINE_EXECUTION_ID: '0f2d6c1e-7a3b-4c5d-9e8f-0123456789ab',
    BIOME: 'main',
  };
  const merged = Object.fromEntries(
    Object.entries({ ...base, ...env }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const r = spawnSync('bash', [PUBLISH_SCRIPT, dir], { env: merged, encoding: 'utf8' });
  const lines = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [];
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, calls: lines.map((l) => l.split('\x1f')) };
}

const sandpit = (branch: string) => ({ BIOME: undefined, SANDPIT_BRANCH_PREFIX: 'sandpit/', BRANCH: branch });

test('release: every artifact goes to <bucket>/main/<file>, SSE-KMS with the bucket key, with the contract metadata', () => {
  const dir = artifacts([`ingest-${SHA}.zip`, `churn-${SHA}.tar.gz`, MANIFEST_FILE]);
  const r = run(dir, {});
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.calls.map((c) => c.slice(0, 4))).toEqual([
    ['s3', 'cp', `${dir}/churn-${SHA}.tar.gz`, `s3://release-dev/main/churn-${SHA}.tar.gz`],
    ['s3', 'cp', `${dir}/ingest-${SHA}.zip`, `s3://release-dev/main/ingest-${SHA}.zip`],
  ]);
  for (const call of r.calls) {
    expect(call.join(' ')).toContain(`--sse aws:kms --sse-kms-key-id ${KEY_ARN}`);
    const metadata = JSON.parse(call[call.indexOf('--metadata') + 1]) as Record<string, string>;
    expect(Object.keys(metadata).sort()).toEqual(Object.values(ARTIFACT_METADATA).sort());
    expect(metadata[ARTIFACT_METADATA.commitSha]).toBe(SHA);
    expect(metadata[ARTIFACT_METADATA.branch]).toBe('main');
    expect(metadata[ARTIFACT_METADATA.pipelineExecutionId]).toBe('0f2d6c1e-7a3b-4c5d-9e8f-0123456789ab');
    expect(metadata[ARTIFACT_METADATA.publishedAt]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  // One publication time for the whole set.
  const times = r.calls.map((c) => JSON.parse(c[c.indexOf('--metadata') + 1])[ARTIFACT_METADATA.publishedAt]);
  expect(new Set(times).size).toBe(1);
});

test('sandpit: the biome is derived from the branch CodePipeline reports', () => {
  const dir = artifacts([`ingest-${SHA}.zip`]);
  const r = run(dir, sandpit('sandpit/alice'));
  expect(r.status).toBe(0);
  expect(r.calls.map((c) => c[3])).toEqual([`s3://release-dev/alice/ingest-${SHA}.zip`]);
});

test.each([
  ['sandpit/Main', /branch 'sandpit\/Main' does not name a valid sandpit biome: "Main" must match/],
  ['sandpit/main', /"main" is reserved/],
  ['feature/x', /branch 'feature\/x' is not a sandpit branch/],
  ['sandpit/al--ice', /must not contain "--"/],
])('sandpit: branch %s is refused and nothing is uploaded', (branch, message) => {
  const dir = artifacts([`ingest-${SHA}.zip`]);
  const r = run(dir, sandpit(branch));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.calls).toEqual([]);
});

test.each([
  [
    'a file packaged from another commit',
    [`ingest-${SHA}.zip`, `predict-${OTHER_SHA}.zip`],
    /unexpected file 'predict-b+\.zip'/,
  ],
  ['a stray file', [`ingest-${SHA}.zip`, 'notes.txt'], /unexpected file 'notes\.txt'/],
  ['an off-grammar name', [`Ingest-${SHA}.zip`], /name 'Ingest' must match/],
  ['no artifact at all', [MANIFEST_FILE], /no artifacts in the build output/],
])('%s stops the publication before the first upload', (_what, files, message) => {
  const r = run(artifacts(files), {});
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.calls).toEqual([]);
});

test.each([
  [{ COMMIT_SHA: 'abc123' }, /COMMIT_SHA 'abc123' is not a full 40-character lowercase commit id/],
  [{ BRANCH: 'feat"x' }, /branch 'feat"x' has characters other than/],
  [{ RELEASE_BUCKET: undefined }, /environment variable RELEASE_BUCKET is not set/],
  [{ BIOME: 'Main' }, /BIOME: "Main" must match/],
  [{ BIOME: undefined }, /BIOME is not set/],
  [
    { SANDPIT_BRANCH_PREFIX: 'sandpit/', BRANCH: 'sandpit/alice' },
    /set either BIOME \(release\) or SANDPIT_BRANCH_PREFIX/,
  ],
])('bad variables %p are refused with what to fix, and nothing is uploaded', (env, message) => {
  const r = run(artifacts([`ingest-${SHA}.zip`]), env);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.calls).toEqual([]);
});

test('a subdirectory in the build output is refused', () => {
  const dir = artifacts([`ingest-${SHA}.zip`]);
  fs.mkdirSync(path.join(dir, 'nested'));
  const r = run(dir, {});
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/unexpected directory 'nested'/);
  expect(r.calls).toEqual([]);
});
