import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import * as tar from 'tar';
import { REPO_ROOT } from '../../lib/bundling/bundler';
import { MANIFEST_FILE, type Manifest, packageArtifacts, PackagingError } from '../../lib/bundling/package';
import { type FixtureRepo, fixtureRepo, SERVICE_FILES } from '../bundling/fixture-repo';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const MODEL_FILES: Record<string, string> = {
  'models/scorer/model.json': '{"coefficients":[1,2]}\n',
  'models/scorer/code/inference.py': 'def model_fn(model_dir):\n    return None\n',
  'models/scorer/.DS_Store': 'litter',
  'models/scorer/code/__pycache__/inference.cpython-312.pyc': 'litter',
  'models/tiny/weights.txt': '1\n',
  'models/tiny/code/inference.py': 'def model_fn(model_dir):\n    return 1\n',
  'models/README.md': 'not a model\n',
};

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
  expect(entries.map((e) => e.path)).toEqual(['inference.py', 'model.json']);
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
    expect(Object.keys(read).sort()).toEqual(['inference.py', 'model.json']);
    expect(read['inference.py']).toBe(MODEL_FILES['models/scorer/code/inference.py']);
    expect(tarEntries(file).some((e) => e.path.startsWith('code'))).toBe(false);
  });

  test('inference.py takes its sorted place among the root names, folders included', () => {
    repo.write('models/tiny/a-data/x.txt', 'x');
    repo.write('models/tiny/z-data/y.txt', 'y');
    run('dist');
    expect(tarEntries(out(`dist/tiny-${SHA}.tar.gz`)).map((e) => e.path)).toEqual([
      'a-data/',
      'a-data/x.txt',
      'inference.py',
      'weights.txt',
      'z-data/',
      'z-data/y.txt',
    ]);
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

  test.each([['inference.py'], ['json.py'], ['sklearn/__init__.py']])(
    'Python outside code/ (%s) is refused: it could shadow a module in the worker',
    (file) => {
      repo.write(`models/scorer/${file}`, 'X = 1\n');
      expect(() => run('dist')).toThrow(/models\/scorer\/ holds Python outside code\/ .*could shadow/);
      expect(fs.existsSync(out('dist'))).toBe(false);
    },
  );
});

test('a model path longer than 100 bytes is stored with the ustar prefix and read back whole', () => {
  const deep = `models/tiny/${'d'.repeat(60)}/${'e'.repeat(60)}/weights.txt`;
  repo.write(deep, '2\n');
  run('dist');
  expect(tarEntries(out(`dist/tiny-${SHA}.tar.gz`)).map((e) => e.path)).toContain(
    deep.slice('models/tiny/'.length),
  );
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
  const cli = (args: string[]) =>
    spawnSync(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(REPO_ROOT, 'scripts', 'package.ts'), ...args],
      {
        encoding: 'utf8',
        cwd: REPO_ROOT,
      },
    );

  test('packages a fixture repo from its lambda/services.ts', () => {
    repo.write('lambda/services.ts', 'export const SERVICES = { alpha: {} };\n');
    const result = cli(['--sha', SHA, '--root', repo.root, '--out', out('dist')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(fs.readdirSync(out('dist')).sort()).toEqual([
      `alpha-${SHA}.zip`,
      MANIFEST_FILE,
      `scorer-${SHA}.tar.gz`,
      `tiny-${SHA}.tar.gz`,
    ]);
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
  expect(listing.trim().split('\n')).toEqual(['inference.py', 'model.json']);
});
