/**
 * Runs the real publish script (lib/devops/buildspec/publish.sh) with bash and a fake `aws` on the
 * PATH that records its arguments (what would be uploaded, where, with which metadata and key) and
 * answers `codepipeline list-pipeline-executions` from JSON pages written by the test.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACT_METADATA } from '../../lambda/shared/contracts';
import { MANIFEST_FILE, PUBLISH_SCRIPT, publishContractVariables } from '../../lib/devops/publish-project';

const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
const EXECUTION_ID = '0f2d6c1e-7a3b-4c5d-9e8f-0123456789ab';
const PIPELINE = 'biomes-devops-PipelinesRelease18B378D0-ABC123';
/** How the AWS CLI v2 prints the start time of EXECUTION_ID in the default executions page. */
const STARTED = '2024-05-01T14:34:56.789123+02:00';
const STARTED_UTC = '2024-05-01T12:34:56.789Z';

let work: string;
let bin: string;
let calls: string;

type Execution = { pipelineExecutionId: string; startTime: unknown; status?: string };
/** Writes one page of ListPipelineExecutions output; `token` names the page a --starting-token asks for. */
function executionsPage(summaries: Execution[], options: { token?: string; next?: string } = {}): void {
  const page = {
    pipelineExecutionSummaries: summaries,
    ...(options.next ? { NextToken: options.next } : {}),
  };
  fs.writeFileSync(
    path.join(work, `executions${options.token ? `-${options.token}` : ''}.json`),
    JSON.stringify(page),
  );
}

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-publish-'));
  bin = path.join(work, 'bin');
  calls = path.join(work, 'aws-calls');
  fs.mkdirSync(bin);
  // One line per call, arguments separated by a unit separator. A missing page is an API error.
  fs.writeFileSync(
    path.join(bin, 'aws'),
    `#!/usr/bin/env bash
(IFS=$'\\x1f'; echo "$*") >> "${calls}"
if [ "$1" = codepipeline ]; then
  token=""; prev=""
  for a in "$@"; do [ "$prev" = --starting-token ] && token="$a"; prev="$a"; done
  page="${work}/executions\${token:+-$token}.json"
  [ -f "$page" ] || { echo "An error occurred (AccessDeniedException) when calling the ListPipelineExecutions operation" >&2; exit 254; }
  cat "$page"
fi
`,
    { mode: 0o755 },
  );
  // A newer execution first (as the API lists them), then the one being published.
  executionsPage([
    {
      pipelineExecutionId: 'ffffffff-0000-0000-0000-000000000000',
      startTime: '2024-05-01T13:00:00.000000+00:00',
    },
    { pipelineExecutionId: EXECUTION_ID, startTime: STARTED, status: 'InProgress' },
  ]);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * Writes `files` into a build output folder, with the manifest the package step would write for them
 * (of commit `sha`, by default the commit being published).
 */
function artifacts(files: string[], options: { manifest?: boolean; sha?: string } = {}): string {
  const dir = path.join(work, 'dist');
  fs.mkdirSync(dir);
  for (const f of files) fs.writeFileSync(path.join(dir, f), `bytes of ${f}`);
  if (options.manifest ?? true) {
    const manifest = {
      sha: options.sha ?? SHA,
      artifacts: files.map((file) => ({
        kind: file.endsWith('.zip') ? 'service' : 'model',
        name: file.replace(/-[0-9a-f]{40}\.(zip|tar\.gz)$/, ''),
        file,
        bytes: fs.statSync(path.join(dir, file)).size,
        sha256: sha256(path.join(dir, file)),
      })),
    };
    fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return dir;
}

/** What the build exports as MANIFEST_SHA256 for the manifest now in `dir` (any hash if there is none). */
function exportedManifestSha256(dir: string): string {
  const manifest = path.join(dir, MANIFEST_FILE);
  return fs.existsSync(manifest) ? sha256(manifest) : '0'.repeat(64);
}

/**
 * Runs publish.sh on `dir`. Unless `env` says otherwise, MANIFEST_SHA256 is the hash of the manifest as
 * it is when the script starts, as if the build had written it so.
 */
function run(dir: string, env: Record<string, string | undefined>) {
  const base: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    ...publishContractVariables(),
    RELEASE_BUCKET: 'release-dev',
    RELEASE_KEY_ARN: KEY_ARN,
    COMMIT_SHA: SHA,
    BRANCH: 'main',
    PIPELINE_EXECUTION_ID: EXECUTION_ID,
    BIOME: 'main',
    RELEASE_BRANCH: 'main',
    CODEBUILD_INITIATOR: `codepipeline/${PIPELINE}`,
    MANIFEST_SHA256: exportedManifestSha256(dir),
  };
  const merged = Object.fromEntries(
    Object.entries({ ...base, ...env }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  fs.rmSync(calls, { force: true });
  const r = spawnSync('bash', [PUBLISH_SCRIPT, dir], { env: merged, encoding: 'utf8' });
  const lines = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [];
  const all = lines.map((l) => l.split('\x1f'));
  return {
    status: r.status,
    stderr: r.stderr,
    stdout: r.stdout,
    calls: all,
    uploads: all.filter((c) => c[0] === 's3'),
    lookups: all.filter((c) => c[0] === 'codepipeline'),
  };
}

const metadataOf = (call: string[]) =>
  JSON.parse(call[call.indexOf('--metadata') + 1]!) as Record<string, string>;
const publishedAt = (r: { uploads: string[][] }) =>
  r.uploads.map((c) => metadataOf(c)[ARTIFACT_METADATA.publishedAt]);

const sandpit = (branch: string) => ({
  BIOME: undefined,
  RELEASE_BRANCH: undefined,
  SANDPIT_BRANCH_PREFIX: 'sandpit/',
  BRANCH: branch,
});

test('release: every artifact goes to <bucket>/main/<file>, SSE-KMS with the bucket key, with the contract metadata', () => {
  const dir = artifacts([`ingest-${SHA}.zip`, `churn-${SHA}.tar.gz`]);
  const r = run(dir, {});
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.uploads.map((c) => c.slice(0, 4))).toEqual([
    ['s3', 'cp', `${dir}/churn-${SHA}.tar.gz`, `s3://release-dev/main/churn-${SHA}.tar.gz`],
    ['s3', 'cp', `${dir}/ingest-${SHA}.zip`, `s3://release-dev/main/ingest-${SHA}.zip`],
  ]);
  for (const call of r.uploads) {
    expect(call.join(' ')).toContain(`--sse aws:kms --sse-kms-key-id ${KEY_ARN}`);
    const metadata = metadataOf(call);
    // The pipeline's four; retrained-from, training-data and training-job are set only by a retraining.
    const published = (['commitSha', 'branch', 'publishedAt', 'pipelineExecutionId'] as const).map(
      (field) => ARTIFACT_METADATA[field],
    );
    expect(Object.keys(metadata).sort()).toEqual(published.sort());
    expect(metadata[ARTIFACT_METADATA.commitSha]).toBe(SHA);
    expect(metadata[ARTIFACT_METADATA.branch]).toBe('main');
    expect(metadata[ARTIFACT_METADATA.pipelineExecutionId]).toBe(EXECUTION_ID);
    expect(metadata[ARTIFACT_METADATA.publishedAt]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  // One publication time for the whole set, read once.
  expect(new Set(publishedAt(r)).size).toBe(1);
  expect(r.lookups).toHaveLength(1);
});

test('sandpit: the biome is derived from the branch CodePipeline reports', () => {
  const dir = artifacts([`ingest-${SHA}.zip`]);
  const r = run(dir, sandpit('sandpit/alice'));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.uploads.map((c) => c[3])).toEqual([`s3://release-dev/alice/ingest-${SHA}.zip`]);
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
  ['no artifact at all', [], /no artifacts in the build output/],
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
    /set either BIOME and RELEASE_BRANCH \(release\) or SANDPIT_BRANCH_PREFIX \(sandpit\), not both/,
  ],
  [
    { ...sandpit('sandpit/alice'), RELEASE_BRANCH: 'main' },
    /set either BIOME and RELEASE_BRANCH \(release\) or SANDPIT_BRANCH_PREFIX/,
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

describe('the bytes are the ones the build packaged (dist/manifest.json)', () => {
  test('a file whose sha256 differs from the manifest is refused before the first upload', () => {
    const dir = artifacts([`churn-${SHA}.tar.gz`, `ingest-${SHA}.zip`]);
    fs.writeFileSync(path.join(dir, `ingest-${SHA}.zip`), 'tampered bytes');
    const r = run(dir, {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `artifact 'ingest-${SHA}\\.zip' has sha256 ${sha256(path.join(dir, `ingest-${SHA}.zip`))} but manifest\\.json records [0-9a-f]{64}: the build output changed after packaging; refusing to publish`,
      ),
    );
    // Not even the untampered file that sorts first was uploaded.
    expect(r.calls).toEqual([]);
  });

  test.each([
    [
      'no manifest',
      () => artifacts([`ingest-${SHA}.zip`], { manifest: false }),
      /no manifest\.json in the build output/,
    ],
    [
      'a manifest that is not JSON',
      () => {
        const dir = artifacts([`ingest-${SHA}.zip`]);
        fs.writeFileSync(path.join(dir, MANIFEST_FILE), 'not json');
        return dir;
      },
      /manifest\.json is not a manifest/,
    ],
    [
      'a file the manifest does not list',
      () => {
        const dir = artifacts([`ingest-${SHA}.zip`]);
        fs.writeFileSync(path.join(dir, `extra-${SHA}.zip`), 'added after packaging');
        return dir;
      },
      new RegExp(`artifact 'extra-${SHA}\\.zip' has no single sha256 entry in manifest\\.json`),
    ],
    [
      'a listed file that is missing',
      () => {
        const dir = artifacts([`ingest-${SHA}.zip`, `predict-${SHA}.zip`]);
        fs.rmSync(path.join(dir, `predict-${SHA}.zip`));
        return dir;
      },
      new RegExp(`manifest\\.json lists 'predict-${SHA}\\.zip', which is not in the build output`),
    ],
  ])('%s is refused before the first upload', (_what, make, message) => {
    const r = run(make(), {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toEqual([]);
  });
});

describe('the manifest is the one the build wrote (MANIFEST_SHA256), for the commit being published', () => {
  /** Rewrites the manifest for the files now in `dir`, as someone who can change the artifact could. */
  function rewriteManifest(dir: string, files: string[]): void {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as {
      artifacts: Array<{ file: string; bytes: number; sha256: string }>;
    };
    manifest.artifacts = manifest.artifacts.map((a) =>
      files.includes(a.file)
        ? { ...a, bytes: fs.statSync(path.join(dir, a.file)).size, sha256: sha256(path.join(dir, a.file)) }
        : a,
    );
    fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  test('the good case: the manifest the build exported the hash of, for this commit, publishes every file', () => {
    const dir = artifacts([`churn-${SHA}.tar.gz`, `ingest-${SHA}.zip`]);
    const r = run(dir, { MANIFEST_SHA256: sha256(path.join(dir, MANIFEST_FILE)) });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.uploads.map((c) => c[3])).toEqual([
      `s3://release-dev/main/churn-${SHA}.tar.gz`,
      `s3://release-dev/main/ingest-${SHA}.zip`,
    ]);
  });

  test('files replaced together with a manifest that matches them are refused: the manifest is not the one the build hashed', () => {
    const dir = artifacts([`churn-${SHA}.tar.gz`, `ingest-${SHA}.zip`]);
    const exported = sha256(path.join(dir, MANIFEST_FILE));
    fs.writeFileSync(path.join(dir, `ingest-${SHA}.zip`), 'tampered bytes');
    rewriteManifest(dir, [`ingest-${SHA}.zip`]);
    const r = run(dir, { MANIFEST_SHA256: exported });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      `publish: manifest.json has sha256 ${sha256(path.join(dir, MANIFEST_FILE))} but the build exported MANIFEST_SHA256 ${exported}: the build output changed after packaging; refusing to publish`,
    );
    expect(r.calls).toEqual([]);
  });

  test('a manifest whose bytes differ from the exported hash is refused, even if only by whitespace', () => {
    const dir = artifacts([`ingest-${SHA}.zip`]);
    const exported = sha256(path.join(dir, MANIFEST_FILE));
    fs.appendFileSync(path.join(dir, MANIFEST_FILE), '\n');
    const r = run(dir, { MANIFEST_SHA256: exported });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /but the build exported MANIFEST_SHA256 [0-9a-f]{64}: the build output changed after packaging/,
    );
    expect(r.calls).toEqual([]);
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
  ])('a %s MANIFEST_SHA256 is refused with what to fix, and nothing is uploaded', (_what, value) => {
    const r = run(artifacts([`ingest-${SHA}.zip`]), { MANIFEST_SHA256: value });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      "publish: MANIFEST_SHA256 is not set: the pipeline passes the build's exported sha256 of manifest.json (#{Build.MANIFEST_SHA256}) to every publish action; without it the manifest cannot be trusted, so nothing was published",
    );
    expect(r.calls).toEqual([]);
  });

  test.each([
    ['an unresolved pipeline variable', '#{Build.MANIFEST_SHA256}'],
    ['uppercase hex', 'A'.repeat(64)],
    ['a short hash', 'a'.repeat(63)],
  ])('a MANIFEST_SHA256 that is %s is refused', (_what, value) => {
    const r = run(artifacts([`ingest-${SHA}.zip`]), { MANIFEST_SHA256: value });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MANIFEST_SHA256 '.*' is not a sha256 \(64 lowercase hex digits\)/);
    expect(r.calls).toEqual([]);
  });

  test.each([
    ['another commit', OTHER_SHA, `'${OTHER_SHA}'`],
    ['no commit', undefined, "'null'"],
  ])(
    'a manifest of %s is refused, even with the exported hash and file names of this commit',
    (_what, sha, shown) => {
      const dir = artifacts([`ingest-${SHA}.zip`], { sha: sha ?? SHA });
      if (sha === undefined) {
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Record<
          string,
          unknown
        >;
        delete manifest.sha;
        fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
      }
      // The hash matches: the build of that other commit wrote exactly this manifest.
      const r = run(dir, { MANIFEST_SHA256: sha256(path.join(dir, MANIFEST_FILE)) });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        `publish: manifest.json is the manifest of commit ${shown}, not of ${SHA} that this execution publishes; refusing to publish`,
      );
      expect(r.calls).toEqual([]);
    },
  );
});

describe('published-at is the start time of the pipeline execution', () => {
  test('read from the pipeline that started the build, for this execution, as UTC with milliseconds', () => {
    const r = run(artifacts([`churn-${SHA}.tar.gz`, `ingest-${SHA}.zip`]), {});
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.lookups).toEqual([
      [
        'codepipeline',
        'list-pipeline-executions',
        '--pipeline-name',
        PIPELINE,
        '--max-items',
        '100',
        '--output',
        'json',
      ],
    ]);
    // Neither the newer execution's time nor the clock of the publish step.
    expect(publishedAt(r)).toEqual([STARTED_UTC, STARTED_UTC]);
    // Looked up before anything is uploaded.
    expect(r.calls[0]?.[0]).toBe('codepipeline');
  });

  test('an older execution that publishes after a newer one keeps its older time (parallel sandpit runs)', () => {
    executionsPage([
      { pipelineExecutionId: 'newer-0000', startTime: '2024-05-01T12:40:00.000000+00:00' },
      { pipelineExecutionId: 'older-0000', startTime: '2024-05-01T12:30:00.000000+00:00' },
    ]);
    const dir = artifacts([`ingest-${SHA}.zip`]);
    const newer = run(dir, { ...sandpit('sandpit/alice'), PIPELINE_EXECUTION_ID: 'newer-0000' });
    const older = run(dir, { ...sandpit('sandpit/alice'), PIPELINE_EXECUTION_ID: 'older-0000' });
    expect([newer.status, older.status]).toEqual([0, 0]);
    const [newerAt] = publishedAt(newer);
    const [olderAt] = publishedAt(older);
    expect(newerAt).toBe('2024-05-01T12:40:00.000Z');
    expect(olderAt).toBe('2024-05-01T12:30:00.000Z');
    // The deploy trigger compares these strings: the later publication of the older commit loses.
    expect(olderAt! < newerAt!).toBe(true);
  });

  test('follows the CLI pagination token until it finds the execution', () => {
    executionsPage([{ pipelineExecutionId: 'other-1', startTime: '2024-05-02T00:00:00+00:00' }], {
      next: 'page2',
    });
    executionsPage([{ pipelineExecutionId: EXECUTION_ID, startTime: '2024-05-01T12:34:56Z' }], {
      token: 'page2',
    });
    const r = run(artifacts([`ingest-${SHA}.zip`]), {});
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tokens = r.lookups.map((c) =>
      c.includes('--starting-token') ? c[c.indexOf('--starting-token') + 1] : null,
    );
    expect(tokens).toEqual([null, 'page2']);
    expect(publishedAt(r)).toEqual(['2024-05-01T12:34:56.000Z']);
  });

  test('epoch seconds (CLI v1 or cli_timestamp_format=none) are normalised the same way', () => {
    executionsPage([{ pipelineExecutionId: EXECUTION_ID, startTime: 1714566896.789 }]);
    const r = run(artifacts([`ingest-${SHA}.zip`]), {});
    expect(r.status).toBe(0);
    expect(publishedAt(r)).toEqual([STARTED_UTC]);
  });

  test.each([
    [
      'the execution is not in the history',
      () => executionsPage([{ pipelineExecutionId: 'someone-else', startTime: STARTED }]),
      {},
      new RegExp(
        `execution ${EXECUTION_ID} is not among the latest 1000 executions of pipeline '${PIPELINE}', so its start time is unknown; refusing to stamp published-at with the clock`,
      ),
    ],
    [
      'the history cannot be read',
      () => fs.rmSync(path.join(work, 'executions.json')),
      {},
      new RegExp(
        `cannot read the executions of pipeline '${PIPELINE}' \\(codepipeline:ListPipelineExecutions\\)`,
      ),
    ],
    [
      'the start time is not a timestamp',
      () => executionsPage([{ pipelineExecutionId: EXECUTION_ID, startTime: 'yesterday' }]),
      {},
      /start time 'yesterday' of execution .* is not a timestamp; refusing to stamp published-at with the clock/,
    ],
    [
      'the start time is missing',
      () => executionsPage([{ pipelineExecutionId: EXECUTION_ID, startTime: null }]),
      {},
      /start time 'null' of execution .* is not a timestamp/,
    ],
    [
      'the build was not started by a pipeline',
      () => undefined,
      { CODEBUILD_INITIATOR: 'alice' },
      /CODEBUILD_INITIATOR 'alice' does not name a pipeline \(codepipeline\/<name>\)/,
    ],
    [
      'the initiator is unknown',
      () => undefined,
      { CODEBUILD_INITIATOR: undefined },
      /CODEBUILD_INITIATOR '' does not name a pipeline/,
    ],
  ])('%s: refused with a clear message, and nothing is uploaded', (_what, arrange, env, message) => {
    arrange();
    const r = run(artifacts([`ingest-${SHA}.zip`]), env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.uploads).toEqual([]);
  });
});

describe('a release publishes commits of the release branch only', () => {
  test('a commit of another branch is refused with the branch it came from, and nothing is uploaded', () => {
    const r = run(artifacts([`ingest-${SHA}.zip`]), { BRANCH: 'feature/x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      `publish: commit ${SHA} is from branch 'feature/x', not the release branch 'main': the release pipeline publishes commits of 'main' only`,
    );
    expect(r.calls).toEqual([]);
  });

  test('the release branch is whatever the pipeline passes (config.source.branch)', () => {
    expect(run(artifacts([`ingest-${SHA}.zip`]), { BRANCH: 'trunk', RELEASE_BRANCH: 'trunk' }).status).toBe(
      0,
    );
  });

  test('without RELEASE_BRANCH a release is refused', () => {
    const r = run(artifacts([`ingest-${SHA}.zip`]), { RELEASE_BRANCH: undefined });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/RELEASE_BRANCH is not set; the release pipeline passes its release branch/);
    expect(r.calls).toEqual([]);
  });
});

describe('the SBOM (lib/bundling/sbom.ts) is published beside the artifacts, checked like them', () => {
  const SBOM = `sbom-${SHA}.cdx.json`;
  /** Adds the SBOM to the build output and, unless told otherwise, to its manifest. */
  function withSbom(dir: string, options: { inManifest?: boolean; file?: boolean; sha256?: string } = {}) {
    if (options.file ?? true) fs.writeFileSync(path.join(dir, SBOM), '{"bomFormat":"CycloneDX"}\n');
    if (options.inManifest ?? true) {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as Record<
        string,
        unknown
      >;
      manifest.sbom = {
        file: SBOM,
        bytes: 26,
        sha256: options.sha256 ?? ((options.file ?? true) ? sha256(path.join(dir, SBOM)) : 'f'.repeat(64)),
      };
      fs.writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    }
    return dir;
  }

  test('goes to <bucket>/<biome>/sbom-<sha>.cdx.json, SSE-KMS, as CycloneDX JSON, with the same metadata', () => {
    const r = run(withSbom(artifacts([`ingest-${SHA}.zip`])), {});
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const upload = r.uploads.find((c) => c[3] === `s3://release-dev/main/${SBOM}`)!;
    expect(upload.join(' ')).toContain(`--sse aws:kms --sse-kms-key-id ${KEY_ARN}`);
    expect(upload.join(' ')).toContain('--content-type application/vnd.cyclonedx+json');
    expect(metadataOf(upload)[ARTIFACT_METADATA.commitSha]).toBe(SHA);
    expect(new Set(publishedAt(r)).size).toBe(1);
    expect(r.stdout).toContain('1 artifact(s) of');
    expect(r.stdout).toContain('and its SBOM');
  });

  test.each([
    [
      'an SBOM the manifest does not list',
      { inManifest: false },
      /is not recorded as the SBOM in manifest\.json/,
    ],
    [
      'a listed SBOM that is missing',
      { file: false },
      /lists an SBOM, but sbom-.* is not in the build output/,
    ],
    [
      'an SBOM whose bytes changed',
      { sha256: 'e'.repeat(64) },
      /has sha256 [0-9a-f]{64} but manifest\.json records e{64}/,
    ],
  ])('%s: nothing is published', (_why, options, message) => {
    const r = run(withSbom(artifacts([`ingest-${SHA}.zip`]), options), {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.uploads).toEqual([]);
  });
});
