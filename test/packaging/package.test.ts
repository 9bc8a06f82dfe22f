import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import * as tar from 'tar';
import { REPO_ROOT } from '../../lib/repo';
import { runTs } from '../fixtures/scripts';
import { MANIFEST_FILE, type Manifest, packageArtifacts, PackagingError } from '../../lib/bundling/package';
import { type FixtureRepo, fixtureRepo, SERVICE_FILES } from '../bundling/fixture-repo';

const SHA = '0123456789abcdef0123456789abcdef01234567';
/**
 * A fixture model's training code: it copies `<data>/out/` to `--out` (so a test decides what
 * training writes by writing data files), and fails with the text of `<data>/fail` when there is one.
 */
const FIXTURE_TRAIN = [
  'import argparse, os, shutil, sys',
  'p = argparse.ArgumentParser(); p.add_argument("--data"); p.add_argument("--out"); a = p.parse_args()',
  'fail = os.path.join(a.data, "fail")',
  'if os.path.exists(fail):',
  '    sys.exit(open(fail).read())',
  'shutil.copytree(os.path.join(a.data, "out"), a.out)',
  '',
].join('\n');
/** A fixture entry point: answers `{"predictions": [{"y": x * factor}]}` for `{"instances": [x, ...]}`. */
const FIXTURE_INFERENCE = [
  'import json, os',
  'from sagemaker_inference.errors import GenericInferenceToolkitError',
  'def model_fn(d):',
  '    return json.load(open(os.path.join(d, "model.json")))',
  'def input_fn(body, content_type):',
  '    return json.loads(body)["instances"]',
  'def predict_fn(data, model):',
  '    if not all(isinstance(x, (int, float)) for x in data):',
  '        raise GenericInferenceToolkitError(400, "every instance must be a number")',
  '    return {"predictions": [{"y": x * model["factor"]} for x in data]}',
  'def output_fn(prediction, accept):',
  '    return json.dumps(prediction), "application/json"',
  '',
].join('\n');
const quality = (min = 0.8, rows: unknown[] = [{ instance: 1, expected: { y: 2 } }], tolerance = 0) =>
  JSON.stringify({ metrics: { accuracy: { min } }, validation: { tolerance, rows } });
const fixtureModel = (name: string, outputs: Record<string, string>): Record<string, string> => ({
  [`models/${name}/train.py`]: FIXTURE_TRAIN,
  [`models/${name}/code/inference.py`]: FIXTURE_INFERENCE,
  [`models/${name}/quality.json`]: quality(),
  [`models/${name}/data/rows.csv`]: 'x\n1\n',
  ...Object.fromEntries(Object.entries(outputs).map(([f, c]) => [`models/${name}/data/out/${f}`, c])),
});
const MODEL_FILES: Record<string, string> = {
  ...fixtureModel('scorer', { 'model.json': '{"factor": 2}', 'metrics.json': '{"accuracy": 0.9}' }),
  'models/scorer/.DS_Store': 'litter',
  'models/scorer/code/__pycache__/inference.cpython-312.pyc': 'litter',
  'models/scorer/README.md': 'not in the archive\n',
  ...fixtureModel('tiny', { 'model.json': '{"factor": 2}', 'metrics.json': '{"accuracy": 0.85}' }),
  'models/README.md': 'not a model\n',
};
/** What every fixture archive holds first, then the rest by name. */
const FIXED_FIRST = ['quality.json', 'metrics.json'];

let repo: FixtureRepo;
beforeEach(() => {
  repo = fixtureRepo({ ...SERVICE_FILES, ...MODEL_FILES });
});
afterEach(() => repo.remove());

const out = (name: string) => path.join(repo.root, name);
const run = (o: string, overrides: Partial<Parameters<typeof packageArtifacts>[0]> = {}) =>
  packageArtifacts({ root: repo.root, sha: SHA, out: out(o), services: ['beta', 'alpha'], ...overrides });
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function tarEntries(file: string) {
  const entries: { path: string; mode?: number; mtime?: Date; uid?: number; gid?: number; type: string }[] =
    [];
  tar.t({
    file,
    sync: true,
    onReadEntry: (e) =>
      entries.push({ path: e.path, mode: e.mode, mtime: e.mtime, uid: e.uid, gid: e.gid, type: e.type }),
  });
  return entries;
}

test('writes exactly <name>-<sha>.zip per service, <name>-<sha>.tar.gz per model, and a manifest', () => {
  const manifest = run('dist');
  expect(fs.readdirSync(out('dist')).sort()).toEqual([
    `alpha-${SHA}.zip`,
    `beta-${SHA}.zip`,
    MANIFEST_FILE,
    `scorer-${SHA}.tar.gz`,
    `tiny-${SHA}.tar.gz`,
  ]);
  const written = JSON.parse(fs.readFileSync(out(`dist/${MANIFEST_FILE}`), 'utf8')) as Manifest;
  expect(written).toEqual(manifest);
  expect(manifest.sha).toBe(SHA);
  expect(manifest.artifacts.map((a) => [a.kind, a.name, a.file])).toEqual([
    ['service', 'alpha', `alpha-${SHA}.zip`],
    ['service', 'beta', `beta-${SHA}.zip`],
    ['model', 'scorer', `scorer-${SHA}.tar.gz`],
    ['model', 'tiny', `tiny-${SHA}.tar.gz`],
  ]);
  for (const a of manifest.artifacts) {
    const file = out(`dist/${a.file}`);
    expect(a.bytes).toBe(fs.statSync(file).size);
    expect(a.sha256).toBe(sha256(file));
  }
});

test('the same input gives the same bytes twice', () => {
  const first = run('one');
  const second = run('two');
  expect(second).toEqual(first);
  for (const f of fs.readdirSync(out('one'))) {
    expect(fs.readFileSync(out(`two/${f}`)).equals(fs.readFileSync(out(`one/${f}`)))).toBe(true);
  }
});

test('a service zip holds the bundle at its root with a fixed time and mode 0644', () => {
  run('dist');
  const zip = fs.readFileSync(out(`dist/alpha-${SHA}.zip`));
  expect(Object.keys(unzipSync(zip))).toEqual(['index.mjs', 'index.mjs.map']);
  // Central directory entry: "version made by" high byte 3 (Unix), external attributes = regular file 0644.
  const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  expect(zip[central + 5]).toBe(3);
  expect(zip.readUInt32LE(central + 38) >>> 16).toBe(0o100644);
  expect(zip.readUInt16LE(central + 12)).toBe(0); // DOS time 00:00:00
  expect(zip.readUInt16LE(central + 14)).toBe((0 << 9) | (1 << 5) | 1); // DOS date 1980-01-01
});

test('a model archive is sorted, litter-free, owned by 0:0, with fixed times and modes', () => {
  run('dist');
  const file = out(`dist/scorer-${SHA}.tar.gz`);
  const gz = fs.readFileSync(file);
  expect(gz.readUInt32LE(4)).toBe(0); // no time in the gzip header
  const entries = tarEntries(file);
  expect(entries.map((e) => e.path)).toEqual([...FIXED_FIRST, 'inference.py', 'model.json', 'train.py']);
  for (const e of entries) {
    expect(e.mode).toBe(e.type === 'Directory' ? 0o755 : 0o644);
    expect([e.uid, e.gid]).toEqual([0, 0]);
    expect(e.mtime?.toISOString()).toBe('1980-01-01T00:00:00.000Z');
  }
});

describe('a model archive is laid out for the endpoint container (lib/bundling/package.ts)', () => {
  test('code/inference.py goes to the root as inference.py, and code/ is not kept', () => {
    run('dist');
    const file = out(`dist/scorer-${SHA}.tar.gz`);
    const read: Record<string, string> = {};
    tar.t({
      file,
      sync: true,
      onReadEntry: (e) => {
        e.on('data', (chunk: Buffer) => (read[e.path] = (read[e.path] ?? '') + chunk.toString('utf8')));
      },
    });
    expect(Object.keys(read).sort()).toEqual([
      'inference.py',
      'metrics.json',
      'model.json',
      'quality.json',
      'train.py',
    ]);
    expect(read['inference.py']).toBe(FIXTURE_INFERENCE);
    expect(read['train.py']).toBe(FIXTURE_TRAIN);
    expect(read['quality.json']).toBe(quality());
    expect(read['metrics.json']).toBe('{"accuracy": 0.9}');
    expect(tarEntries(file).some((e) => e.path.startsWith('code'))).toBe(false);
  });

  test("quality.json and metrics.json come first; the code and training's outputs, folders included, follow by name", () => {
    repo.write('models/tiny/data/out/a-data/x.txt', 'x');
    repo.write('models/tiny/data/out/z-data/y.txt', 'y');
    repo.write('models/tiny/data/out/weights.txt', '1');
    run('dist');
    expect(tarEntries(out(`dist/tiny-${SHA}.tar.gz`)).map((e) => e.path)).toEqual([
      ...FIXED_FIRST,
      'a-data/',
      'a-data/x.txt',
      'inference.py',
      'model.json',
      'train.py',
      'weights.txt',
      'z-data/',
      'z-data/y.txt',
    ]);
  });

  test('files of the model folder other than its code and bar (README, data) stay out of the archive', () => {
    repo.write('models/scorer/helper.py', 'X = 1\n');
    run('dist');
    const paths = tarEntries(out(`dist/scorer-${SHA}.tar.gz`)).map((e) => e.path);
    expect(paths).not.toContain('README.md');
    expect(paths).not.toContain('helper.py');
    expect(paths.some((p) => p.startsWith('data'))).toBe(false);
  });

  test('a model without code/inference.py is refused, saying what the endpoint would do', () => {
    repo.write('models/bare/model.json', '{}');
    expect(() => run('dist')).toThrow(
      /model "bare" has no models\/bare\/code\/inference\.py; add it .* the endpoint answers every request for the model with an error/,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('code/ holding anything but inference.py is refused (only it reaches the archive)', () => {
    repo.write('models/scorer/code/helpers.py', 'X = 1\n');
    expect(() => run('dist')).toThrow(
      /models\/scorer\/code\/ must hold inference\.py alone \(found code\/helpers\.py\)/,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test.each([['json.py'], ['sklearn/__init__.py'], ['inference.py']])(
    'Python written by training (%s) is refused: it could shadow a module in the worker',
    (file) => {
      repo.write(`models/scorer/data/out/${file}`, 'X = 1\n');
      expect(() => run('dist')).toThrow(
        /model "scorer": training wrote .*(could shadow|keeps for its own files)/,
      );
      expect(fs.existsSync(out('dist'))).toBe(false);
    },
  );
});

describe('a model is trained, gated on its bar and its validation rows; a refusal writes nothing', () => {
  /** One model and no services: bundling and a second training would add nothing here but time. */
  const runModels = (overrides: Partial<Parameters<typeof packageArtifacts>[0]> = {}) =>
    run('dist', { services: [], models: ['scorer'], ...overrides });
  const refused = (pattern: RegExp, overrides: Partial<Parameters<typeof packageArtifacts>[0]> = {}) => {
    let error: unknown;
    try {
      runModels(overrides);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PackagingError);
    expect((error as Error).message).toMatch(pattern);
    expect(fs.existsSync(out('dist'))).toBe(false);
  };

  test("the manifest carries each model's metrics, which passed its bar", () => {
    const manifest = runModels();
    expect(manifest.artifacts.find((a) => a.name === 'scorer')?.metrics).toEqual({ accuracy: 0.9 });
  });

  test('below its bar: names the model, the metric, the value and the threshold', () => {
    repo.write('models/scorer/quality.json', quality(0.95));
    refused(/model "scorer": accuracy is 0\.9, below its bar of 0\.95 \(min\)/);
  });

  test('above a max bound', () => {
    repo.write(
      'models/scorer/quality.json',
      JSON.stringify({
        metrics: { log_loss: { max: 0.3 } },
        validation: { tolerance: 0, rows: [{ instance: 1, expected: { y: 2 } }] },
      }),
    );
    repo.write('models/scorer/data/out/metrics.json', '{"log_loss": 0.31}');
    refused(/model "scorer": log_loss is 0\.31, above its bar of 0\.3 \(max\)/);
  });

  test('a metric the bar names but training does not produce', () => {
    repo.write('models/scorer/data/out/metrics.json', '{"auc": 0.9}');
    refused(/quality\.json names metric "accuracy" but training produced none \(metrics\.json has auc\)/);
  });

  test('training writes no metrics.json', () => {
    fs.rmSync(path.join(repo.root, 'models/scorer/data/out/metrics.json'));
    refused(/model "scorer": training wrote no metrics\.json/);
  });

  test('training fails: its exit and the end of its output', () => {
    repo.write('models/scorer/data/fail', 'rows.csv line 7: the label must be 0 or 1');
    refused(
      /model "scorer": training failed \(models\/scorer\/train\.py exited 1\):\s+rows\.csv line 7: the label must be 0 or 1/,
    );
  });

  test('no training data, no train.py, no quality.json: each named', () => {
    fs.rmSync(path.join(repo.root, 'models/tiny/data'), { recursive: true });
    fs.rmSync(path.join(repo.root, 'models/tiny/train.py'));
    fs.rmSync(path.join(repo.root, 'models/tiny/quality.json'));
    refused(
      /model "tiny" has no models\/tiny\/train\.py[\s\S]*model "tiny" has no models\/tiny\/quality\.json; declare its quality bar[\s\S]*model "tiny" has no training data: put CSV files in models\/tiny\/data\//,
      { models: ['tiny'] },
    );
  });

  test.each([
    ['not JSON', '{', /models\/scorer\/quality\.json is not JSON/],
    [
      'no rows',
      JSON.stringify({ metrics: { a: { min: 1 } }, validation: { tolerance: 0, rows: [] } }),
      /validation\.rows: give at least one validation row/,
    ],
    [
      'a bound without min or max',
      JSON.stringify({
        metrics: { a: {} },
        validation: { tolerance: 0, rows: [{ instance: 1, expected: 1 }] },
      }),
      /metrics\.a: give "min", "max" or both/,
    ],
    ['a negative tolerance', quality(0.8, undefined, -1), /validation\.tolerance: must be 0 or more/],
    [
      'an unknown key',
      JSON.stringify({
        metrics: { a: { min: 1 } },
        validation: { tolerance: 0, rows: [{ instance: 1, expected: 1 }] },
        extra: 1,
      }),
      /is not a quality bar/,
    ],
  ])('a malformed quality.json (%s)', (_why, text, pattern) => {
    repo.write('models/scorer/quality.json', text);
    refused(pattern);
  });

  test("a validation row the trained model answers differently: the row's input, expected and got", () => {
    repo.write(
      'models/scorer/quality.json',
      quality(
        0.8,
        [
          { instance: 1, expected: { y: 2 } },
          { instance: 2, expected: { y: 4.5 } },
        ],
        0.4,
      ),
    );
    refused(
      /model "scorer": validation row 1: input 2, expected \{"y":4\.5\}, got \{"y":4\} \(y: expected 4\.5 ± 0\.4, got 4\)/,
    );
  });

  test('a row within the tolerance passes', () => {
    repo.write('models/scorer/quality.json', quality(0.8, [{ instance: 2, expected: { y: 4.3 } }], 0.5));
    expect(() => runModels()).not.toThrow();
  });

  test("validation rows that do not match the model's features: the entry point's own 4xx", () => {
    repo.write('models/scorer/quality.json', quality(0.8, [{ instance: 'one', expected: { y: 2 } }]));
    refused(
      /code\/inference\.py answered the validation rows of models\/scorer\/quality\.json with HTTP 400: every instance must be a number; make each row's instance what the model takes/,
    );
  });

  test("an archive over the endpoint's limit", () => {
    refused(/model "scorer": its archive is \d+ bytes, over the limit of 100 bytes/, { maxModelBytes: 100 });
  });

  test('without python3: says to install it', () => {
    refused(/python3-not-installed is needed to train the models and was not found; install Python 3/, {
      python: 'python3-not-installed',
    });
  });
});

describe("demo-scorer's own training (models/demo-scorer/train.py)", () => {
  const demo = path.join(REPO_ROOT, 'models', 'demo-scorer');
  const copyDemo = (csv?: string) => {
    for (const file of ['train.py', 'quality.json', 'code/inference.py']) {
      repo.write(`models/demo-scorer/${file}`, fs.readFileSync(path.join(demo, file), 'utf8'));
    }
    repo.write(
      'models/demo-scorer/data/customers.csv',
      csv ?? fs.readFileSync(path.join(demo, 'data', 'customers.csv'), 'utf8'),
    );
  };
  const runDemo = () => run('dist', { services: [], models: ['demo-scorer'] });

  test('a malformed data set is refused naming the file, the line and what to fix', () => {
    copyDemo('age,income,visits,label\n30,40000,1,0\n31,abc,2,1\n');
    expect(runDemo).toThrow(
      /demo-scorer train\.py: customers\.csv line 3: every feature and the label must be a number/,
    );
  });

  test('a data set without a label column', () => {
    copyDemo('age,income,visits\n30,40000,1\n');
    expect(runDemo).toThrow(/customers\.csv: the header lacks label/);
  });

  test('trains the same bytes twice, and the metrics pass the bar', () => {
    copyDemo();
    const first = runDemo();
    const again = run('again', { services: [], models: ['demo-scorer'] });
    expect(again.artifacts[0]!.sha256).toBe(first.artifacts[0]!.sha256);
    expect(first.artifacts[0]!.metrics!.accuracy).toBeGreaterThanOrEqual(0.8);
  });
});

test('a model path longer than 100 bytes is stored with the ustar prefix and read back whole', () => {
  const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/weights.txt`;
  repo.write(`models/tiny/data/out/${deep}`, '2\n');
  run('dist');
  expect(tarEntries(out(`dist/tiny-${SHA}.tar.gz`)).map((e) => e.path)).toContain(deep);
});

describe('refuses bad input and writes nothing', () => {
  test.each([
    ['too short', SHA.slice(0, 39)],
    ['upper case', SHA.toUpperCase()],
    ['not hex', `${SHA.slice(0, 39)}g`],
    ['empty', ''],
  ])('a SHA that is %s', (_why, sha) => {
    expect(() => run('dist', { sha })).toThrow(
      /must be the full 40-character lowercase hexadecimal commit id/,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('a model folder name off the grammar', () => {
    repo.write('models/Bad_Model/model.json', '{}');
    expect(() => run('dist')).toThrow(
      /model name "Bad_Model" must match .*rename the folder models\/Bad_Model\//,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('a service name off the grammar or without a handler', () => {
    expect(() => run('dist', { services: ['alpha', 'Gamma', 'delta'] })).toThrow(
      /service name "Gamma" must match[\s\S]*service "delta" has no lambda\/delta\/handler\.ts/,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('an empty model folder', () => {
    fs.mkdirSync(path.join(repo.root, 'models', 'empty', 'code'), { recursive: true });
    expect(() => run('dist')).toThrow(/models\/empty\/ holds no files/);
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('a service that does not compile, naming file and line', () => {
    repo.write('lambda/beta/handler.ts', 'export const handler = (;\n');
    expect(() => run('dist')).toThrow(PackagingError);
    expect(() => run('dist')).toThrow(/lambda\/beta\/handler\.ts:1:\d+/);
    expect(fs.existsSync(out('dist'))).toBe(false);
  });
});

describe('npm run package (the CLI)', () => {
  const cli = (args: string[]) => runTs('scripts/package.ts', args, { cwd: REPO_ROOT });

  test('packages a fixture repo from its lambda/services.ts, with the SBOM of its lockfile', () => {
    repo.write('lambda/services.ts', 'export const SERVICES = { alpha: {} };\n');
    repo.write('package.json', '{"name": "fixture", "version": "1.0.0"}\n');
    repo.write(
      'package-lock.json',
      '{"name": "fixture", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "fixture", "version": "1.0.0"}}}\n',
    );
    const result = cli(['--sha', SHA, '--root', repo.root, '--out', out('dist')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(fs.readdirSync(out('dist')).sort()).toEqual([
      `alpha-${SHA}.zip`,
      MANIFEST_FILE,
      `sbom-${SHA}.cdx.json`,
      `scorer-${SHA}.tar.gz`,
      `tiny-${SHA}.tar.gz`,
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(out('dist'), MANIFEST_FILE), 'utf8')) as {
      sbom?: { file: string };
    };
    expect(manifest.sbom?.file).toBe(`sbom-${SHA}.cdx.json`);
  });

  test('a repository without package-lock.json cannot say what is in it: nothing is packaged', () => {
    repo.write('lambda/services.ts', 'export const SERVICES = { alpha: {} };\n');
    const result = cli(['--sha', SHA, '--root', repo.root, '--out', out('dist')]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Nothing was packaged: npm sbom failed .*package-lock\.json/s);
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('exits non-zero with the reason for a bad SHA, and writes nothing', () => {
    repo.write('lambda/services.ts', 'export const SERVICES = { alpha: {} };\n');
    const result = cli(['--sha', 'abc123', '--root', repo.root, '--out', out('dist')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/commit SHA "abc123" must be the full 40-character/);
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('refuses a services file that is not the registry, saying what it expects', () => {
    repo.write('lambda/services.ts', "export const SERVICES = ['alpha'];\n");
    const result = cli(['--sha', SHA, '--root', repo.root, '--out', out('dist')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /does not export SERVICES \(the registry: an object with one entry per service\)/,
    );
    expect(fs.existsSync(out('dist'))).toBe(false);
  });

  test('exits non-zero with usage when --sha is missing', () => {
    const result = cli(['--root', repo.root]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--sha is required/);
  });
});

test('the sample model of this repository packages', () => {
  const dir = out('dist');
  const manifest = packageArtifacts({ root: REPO_ROOT, sha: SHA, out: dir, services: [] });
  expect(manifest.artifacts.map((a) => a.file)).toContain(`demo-scorer-${SHA}.tar.gz`);
  const listing = execFileSync('tar', ['-tzf', path.join(dir, `demo-scorer-${SHA}.tar.gz`)], {
    encoding: 'utf8',
  });
  expect(listing.trim().split('\n')).toEqual([...FIXED_FIRST, 'inference.py', 'model.json', 'train.py']);
  const entry = manifest.artifacts.find((a) => a.name === 'demo-scorer')!;
  expect(Object.keys(entry.metrics ?? {}).sort()).toEqual(['accuracy', 'auc', 'held_out_rows', 'log_loss']);
});
