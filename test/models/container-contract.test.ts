/**
 * The inference container contract, offline (issue 10: the shared stack must deploy at all). The
 * endpoint's container is started the way SageMaker starts it, from what the shared stack ships:
 * the image's file system and ENV from the staged Docker asset (the Dockerfile and the global entry
 * point of lib/workload/shared/inference-container/), the environment from the synthesized
 * AWS::SageMaker::Model, SAGEMAKER_MULTI_MODEL from SageMaker. Then every model of models/ is
 * packaged by `npm run package`'s code, extracted the way SageMaker does
 * (/opt/ml/models/<opaque>/model), loaded and invoked in test/models/mms_emulator.py, an emulation of
 * the container's code paths that cites their sources. So this fails if the Model's environment,
 * the image, the archive layout or a model's entry point drift from what the container does.
 *
 * Needs python3 with numpy (the container's default handlers use it); without them it fails, saying so.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { REPO_ROOT } from '../../lib/repo';
import { packageArtifacts } from '../../lib/bundling/package';
import {
  describeMismatch,
  firstRowMismatch,
  MODEL_ARCHIVE_FILES,
  parseQuality,
  type Quality,
  validationRequest,
} from '../../lambda/shared/model-archive';
import { environmentOf } from '../../lib/config';
import { CONTAINER_ENVIRONMENT, ENTRY_POINT } from '../../lib/workload/shared/inference';
import { inferenceBaseImage } from '../../lib/workload/shared/inference-image';
import { SharedStack } from '../../lib/workload/shared/shared-stack';
import { PREDICT_MODEL } from '../../lambda/predict/model';
import { testApp, testConfig } from '../fixtures/config';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const EMULATOR = path.join(__dirname, 'mms_emulator.py');
/** Stand-ins for the image's site-packages that model code imports (the toolkit's error classes). */
const SITE_PACKAGES = path.join(REPO_ROOT, 'lib', 'bundling', 'site-packages');
const MODELS_README = path.join(REPO_ROOT, 'models', 'README.md');
const SHA = 'c'.repeat(40);
const JSON_TYPE = 'application/json';

interface Request {
  readonly body: string;
  readonly content_type?: string | null;
  readonly accept?: string | null;
}
interface Response {
  readonly status: number;
  readonly body: string;
  readonly content_type: string | null;
  readonly detail?: string;
}
interface Result {
  readonly startup: { readonly ok: boolean; readonly module: string | null; readonly error: string | null };
  readonly models: {
    readonly name: string;
    readonly responses: Response[];
    readonly module_file: string | null;
  }[];
}

/** One Dockerfile instruction, continuation lines joined, comments dropped. */
interface Instruction {
  readonly op: string;
  readonly args: string;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** The ENV of a Dockerfile (`KEY=value` pairs only, the form ours uses). */
function imageEnv(instructions: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.op === 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`ENV ${args}: write it as KEY=value pairs`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}

/** `## <name>` of models/README.md: its first JSON block (the request) and second (the response). */
function documentedExample(readme: string, model: string): { request: string; response: unknown } {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${model}\n`));
  if (!section)
    throw new Error(`models/README.md has no "## ${model}" section with a request and its response`);
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length < 2) {
    throw new Error(
      `models/README.md "## ${model}": document one request and its response as two json blocks`,
    );
  }
  return { request: blocks[0]!, response: JSON.parse(blocks[1]!) };
}

function runEmulator(jobs: readonly Json[]): Result[] {
  const run = spawnSync('python3', [EMULATOR], {
    input: JSON.stringify({ jobs }),
    encoding: 'utf8',
    // Nothing of the run may land in the repository (a __pycache__ would change the image's asset hash).
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) {
    throw new Error(
      `python3 is required for the container contract test (${run.error.message}); install Python 3`,
    );
  }
  if (run.status !== 0) {
    throw new Error(`the container emulator failed (exit ${run.status}): ${run.stderr}`);
  }
  return (JSON.parse(run.stdout) as { results: Result[] }).results;
}

// ---- what the shared stack ships ------------------------------------------------------------------

const config = testConfig();
const dev = environmentOf(config, 'dev');
const app = testApp();
const stack = new SharedStack(app, 'biomes-dev-shared', {
  config,
  envName: 'dev',
  env: { account: dev.account, region: config.region },
});
const assembly = app.synth();
const template = JSON.parse(
  fs.readFileSync(path.join(assembly.directory, stack.templateFile), 'utf8'),
) as Json;
const sageMakerModels = Object.values(template.Resources as Record<string, Json>).filter(
  (r) => r.Type === 'AWS::SageMaker::Model',
);
const container = sageMakerModels[0]?.Properties.PrimaryContainer as Json;
const modelEnvironment = (container.Environment ?? {}) as Record<string, string>;
const assetManifest = JSON.parse(
  fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
) as Json;
const dockerImages = Object.entries(assetManifest.dockerImages as Record<string, Json>);
const [imageHash, image] = dockerImages[0]!;
const context = path.join(assembly.directory, image.source.directory as string);
const dockerfile = parseDockerfile(fs.readFileSync(path.join(context, 'Dockerfile'), 'utf8'));

// ---- the container's file system, built from that ----------------------------------------------

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-container-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const optMl = path.join(root, 'opt', 'ml');
const codeDir = path.join(optMl, 'code');
const modelsDir = path.join(optMl, 'models');
const emptyCodeDir = path.join(root, 'stock-image', 'code');
fs.mkdirSync(codeDir, { recursive: true });
fs.mkdirSync(modelsDir, { recursive: true });
fs.mkdirSync(emptyCodeDir, { recursive: true });
for (const { args } of dockerfile.filter((i) => i.op === 'COPY')) {
  const [source, destination] = args.split(/\s+/);
  if (!source || !destination?.startsWith('/opt/ml/code/')) continue;
  fs.copyFileSync(path.join(context, source), path.join(codeDir, destination.slice('/opt/ml/code/'.length)));
}
/** What the container runs with: the image's ENV, overridden by the Model's, plus SageMaker's own. */
const containerEnv = { ...imageEnv(dockerfile), ...modelEnvironment, SAGEMAKER_MULTI_MODEL: 'true' };

const manifest = packageArtifacts({ root: REPO_ROOT, sha: SHA, out: path.join(root, 'dist'), services: [] });
const modelArtifacts = manifest.artifacts.filter((a) => a.kind === 'model');
/** Each archive extracted where SageMaker puts it: /opt/ml/models/<opaque name>/model. */
const modelDirs = new Map<string, string>();
const archiveListings = new Map<string, string[]>();
modelArtifacts.forEach((artifact, i) => {
  const dir = path.join(modelsDir, `m${i}`, 'model');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(root, 'dist', artifact.file);
  const listing: string[] = [];
  tar.t({ file, sync: true, onReadEntry: (e) => listing.push(e.path) });
  tar.x({ file, cwd: dir, sync: true });
  modelDirs.set(artifact.name, dir);
  archiveListings.set(artifact.name, listing);
});
/** An archive without its own entry point: what an archive packaged by anything else may look like. */
const bareModelDir = path.join(modelsDir, 'bare', 'model');
fs.mkdirSync(bareModelDir, { recursive: true });
fs.writeFileSync(path.join(bareModelDir, 'model.json'), '{}');

const readme = fs.readFileSync(MODELS_README, 'utf8');
/** The quality bar as the archive carries it (what the deploy trigger reads), not the repository's copy. */
const qualityOf = (model: string): Quality =>
  parseQuality(
    fs.readFileSync(path.join(modelDirs.get(model)!, MODEL_ARCHIVE_FILES.quality), 'utf8'),
    `${model} ${MODEL_ARCHIVE_FILES.quality}`,
  );

/** The requests each model gets, in order; `expectations` below reads the responses by index. */
function requestsFor(model: string): Request[] {
  const { request } = documentedExample(readme, model);
  const requests: Request[] = [
    { body: request, content_type: JSON_TYPE, accept: JSON_TYPE },
    { body: request, content_type: 'text/csv', accept: JSON_TYPE },
    { body: 'this is not JSON', content_type: JSON_TYPE, accept: JSON_TYPE },
    { body: '{"instances": []}', content_type: JSON_TYPE, accept: JSON_TYPE },
  ];
  // The deploy trigger's validation on the endpoint: every row of the archive's own quality.json in
  // one request (lambda/deploy-trigger/model.ts), and the same without Accept (the toolkit's default).
  const validation = validationRequest(qualityOf(model));
  requests.push(
    { body: validation, content_type: JSON_TYPE, accept: JSON_TYPE },
    { body: validation, content_type: JSON_TYPE },
  );
  if (model === PREDICT_MODEL) {
    // The predict service's call (lambda/predict/predict.ts).
    requests.push({
      body: JSON.stringify({ instances: [[42, 55000, 3]] }),
      content_type: JSON_TYPE,
      accept: JSON_TYPE,
    });
  }
  return requests;
}

const modelNames = [...modelDirs.keys()];
const job = (overrides: Json = {}): Json => ({
  code_dir: codeDir,
  models_dir: modelsDir,
  site_packages: [SITE_PACKAGES],
  env: containerEnv,
  network_isolation: sageMakerModels[0]?.Properties.EnableNetworkIsolation === true,
  models: [],
  ...overrides,
});
const withoutKey = (env: Record<string, string>, key: string) =>
  Object.fromEntries(Object.entries(env).filter(([k]) => k !== key));

let results: Result[] = [];
let startedMs = 0;
beforeAll(() => {
  const started = Date.now();
  results = runEmulator([
    job({
      models: [
        ...modelNames.map((name) => ({ name, model_dir: modelDirs.get(name), requests: requestsFor(name) })),
        { name: 'bare', model_dir: bareModelDir, requests: [{ body: '{}', content_type: JSON_TYPE }] },
      ],
    }),
    // The same environment on the stock image (an empty /opt/ml/code): what the endpoint did before.
    job({ code_dir: emptyCodeDir }),
    // Drift the harness must catch.
    job({ env: withoutKey(containerEnv, 'SAGEMAKER_PROGRAM') }),
    job({ env: { ...containerEnv, SAGEMAKER_CONTAINER_LOG_LEVEL: 'INFO' } }),
    job({ env: withoutKey(containerEnv, 'PIP_NO_BUILD_ISOLATION') }),
  ]);
  startedMs = Date.now() - started;
});

const main = () => results[0]!;
const responsesOf = (model: string) => main().models.find((m) => m.name === model)!.responses;

describe('what the shared stack ships', () => {
  test('one SageMaker Model, multi-model, network-isolated, running the image asset built from inference-container/', () => {
    expect(sageMakerModels).toHaveLength(1);
    expect(container.Mode).toBe('MultiModel');
    expect(sageMakerModels[0]!.Properties.EnableNetworkIsolation).toBe(true);
    expect(dockerImages).toHaveLength(1);
    expect(JSON.stringify(container.Image)).toContain(`:${imageHash}`);
    expect(image.source.dockerBuildArgs).toEqual({ BASE: inferenceBaseImage(config.region, 'dev') });
    expect(image.source.platform).toBe('linux/amd64');
    expect(fs.readdirSync(context).sort()).toEqual(['.dockerignore', 'Dockerfile', 'inference.py']);
  });

  test("the Model's environment is the container contract exactly, with no SAGEMAKER_SUBMIT_DIRECTORY", () => {
    expect(modelEnvironment).toEqual(CONTAINER_ENVIRONMENT);
    expect(modelEnvironment).not.toHaveProperty('SAGEMAKER_SUBMIT_DIRECTORY');
    expect(modelEnvironment.SAGEMAKER_CONTAINER_LOG_LEVEL).toMatch(/^\d+$/);
  });

  test('the image: FROM the base build arg, the global entry point at /opt/ml/code, offline pip, the start-up import run without a network', () => {
    const ops = dockerfile.map((i) => `${i.op} ${i.args}`);
    expect(ops[0]).toBe('ARG BASE');
    expect(ops[1]).toBe('FROM ${BASE}');
    expect(ops).toContain(`COPY ${ENTRY_POINT} /opt/ml/code/${ENTRY_POINT}`);
    expect(imageEnv(dockerfile)).toEqual({
      SAGEMAKER_PROGRAM: ENTRY_POINT,
      PIP_NO_BUILD_ISOLATION: '0',
      PIP_NO_INDEX: '1',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
    });
    const run = dockerfile.filter((i) => i.op === 'RUN');
    expect(run).toHaveLength(1);
    expect(run[0]!.args).toMatch(/^--network=none python -c "/);
    // The call of sklearn serving_mms.py:121-124.
    expect(run[0]!.args).toContain('serving_env = env.ServingEnv()');
    expect(run[0]!.args).toContain('modules.import_module(serving_env.module_dir, serving_env.module_name)');
    expect(fs.readdirSync(codeDir)).toEqual([ENTRY_POINT]); // no requirements.txt: it would need the network
  });
});

describe('the container starts (serve, multi-model) with that image and environment', () => {
  test('python3 with numpy runs the emulator, quickly', () => {
    expect(results).toHaveLength(5);
    expect(startedMs).toBeLessThan(10_000);
  });

  test('start-up imports the global entry point from /opt/ml/code', () => {
    expect(main().startup).toEqual({ ok: true, module: 'inference', error: null });
  });

  test('the stock image with the same environment would not start (empty /opt/ml/code): the failure this fixes', () => {
    expect(results[1]!.startup.ok).toBe(false);
    expect(results[1]!.startup.error).toMatch(/ImportModuleError: No module named 'inference'/);
  });

  test.each([
    ['SAGEMAKER_PROGRAM unset', 2, /'NoneType' object has no attribute 'startswith'/],
    ['a log level name instead of a number', 3, /ValueError .*'INFO'/],
    ['pip build isolation left on', 4, /download setuptools/],
  ])('the emulation catches drift: %s', (_why, index, error) => {
    expect(results[index]!.startup.ok).toBe(false);
    expect(results[index]!.startup.error).toMatch(error);
  });
});

describe.each(modelNames)('model %s, packaged and extracted as SageMaker does', (model) => {
  test('the archive has inference.py at its root and no code/ folder', () => {
    const listing = archiveListings.get(model)!;
    expect(listing).toContain(ENTRY_POINT);
    expect(listing.filter((p) => p === 'code/' || p.startsWith('code/'))).toEqual([]);
    expect(fs.existsSync(path.join(modelDirs.get(model)!, ENTRY_POINT))).toBe(true);
  });

  test("its worker imports the archive's own inference.py, not the global one", () => {
    expect(main().models.find((m) => m.name === model)!.module_file).toBe(
      path.join(modelDirs.get(model)!, ENTRY_POINT),
    );
  });

  test('the documented request gets the documented response (models/README.md)', () => {
    const [ok] = responsesOf(model);
    expect(ok).toMatchObject({ status: 200, content_type: JSON_TYPE });
    const body = JSON.parse(ok!.body) as Json;
    expect(body).toEqual(documentedExample(readme, model).response);
    expect(body.model).toBe(model);
    expect(Array.isArray(body.predictions)).toBe(true);
  });

  test('another content type is a 415 and a malformed body a 400, each saying what to send', () => {
    const [, csv, notJson, empty] = responsesOf(model);
    expect(csv).toMatchObject({ status: 415 });
    expect(csv!.body).toContain(JSON_TYPE);
    expect(notJson).toMatchObject({ status: 400 });
    expect(empty).toMatchObject({ status: 400 });
    expect(empty!.body).toContain('instances');
  });
});

describe.each(modelNames)('model %s answers its own validation rows on the emulated endpoint', (model) => {
  test.each([
    ['with Accept application/json (the deploy trigger)', 4],
    ['without Accept', 5],
  ])('%s: every row within its tolerance', (_how, index) => {
    const response = responsesOf(model)[index]!;
    expect(response).toMatchObject({ status: 200, content_type: JSON_TYPE });
    const mismatch = firstRowMismatch(qualityOf(model), JSON.parse(response.body));
    expect(mismatch && describeMismatch(mismatch)).toBeUndefined();
  });

  test("the rows are the repository's quality.json, carried in the archive unchanged", () => {
    expect(fs.readFileSync(path.join(modelDirs.get(model)!, MODEL_ARCHIVE_FILES.quality), 'utf8')).toBe(
      fs.readFileSync(path.join(REPO_ROOT, 'models', model, MODEL_ARCHIVE_FILES.quality), 'utf8'),
    );
  });
});

describe(`${PREDICT_MODEL}: what the services send it`, () => {
  test("the predict service's request scores", () => {
    const [, , , , , , predict] = responsesOf(PREDICT_MODEL);
    for (const response of [predict]) {
      expect(response).toMatchObject({ status: 200, content_type: JSON_TYPE });
      const { predictions } = JSON.parse(response!.body) as {
        predictions: { score: unknown; label: unknown }[];
      };
      expect(predictions).toHaveLength(1);
      expect(typeof predictions[0]!.score).toBe('number');
      expect([0, 1]).toContain(predictions[0]!.label);
    }
  });
});

test('an archive without its own inference.py reaches the global default, which answers 501 and says why', () => {
  const bare = main().models.find((m) => m.name === 'bare')!;
  expect(bare.module_file).toBe(path.join(codeDir, ENTRY_POINT));
  expect(bare.responses[0]).toMatchObject({ status: 501 });
  expect(bare.responses[0]!.body).toMatch(/has no inference\.py at its root\b.*its root holds: model\.json/);
});
