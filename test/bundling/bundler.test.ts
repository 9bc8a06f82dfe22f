import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  BUNDLE_FILE,
  bundle,
  BundleError,
  discoverEntryPoints,
  HANDLER,
  LAMBDA_RUNTIME,
  LambdaBundles,
  SOURCE_MAP_FILE,
  writeBundle,
} from '../../lib/bundling/bundler';
import { zipFiles } from '../../lib/bundling/package';
import { testApp } from '../fixtures/config';
import { type FixtureRepo, fixtureRepo, SERVICE_FILES } from './fixture-repo';

let repo: FixtureRepo;
beforeEach(() => {
  repo = fixtureRepo(SERVICE_FILES);
});
afterEach(() => repo.remove());

const entriesOf = (r: FixtureRepo) => discoverEntryPoints(path.join(r.root, 'lambda'));
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('discoverEntryPoints', () => {
  test('finds every lambda/<name>/handler.ts, sorted, and nothing else', () => {
    const entries = entriesOf(repo);
    expect(entries).toEqual({
      alpha: path.join(repo.root, 'lambda', 'alpha', 'handler.ts'),
      beta: path.join(repo.root, 'lambda', 'beta', 'handler.ts'),
    });
  });
});

describe('bundle', () => {
  test('bundles every requested function in one call as minified ESM with a linked source map', () => {
    const out = bundle(['alpha', 'beta'], entriesOf(repo), { root: repo.root });
    expect([...out.keys()]).toEqual(['alpha', 'beta']);
    const alpha = out.get('alpha')!;
    expect([...alpha.files.keys()].sort()).toEqual([BUNDLE_FILE, SOURCE_MAP_FILE]);
    const code = text(alpha.files.get(BUNDLE_FILE));
    expect(code).toMatch(/export\s*\{/); // ESM
    expect(code).toContain('CREATE TABLE t (id int);'); // the folder's own module, inlined
    expect(code).toContain(`//# sourceMappingURL=${SOURCE_MAP_FILE}`);
    expect(code).not.toContain('\n  '); // minified: no indentation
    const map = JSON.parse(text(alpha.files.get(SOURCE_MAP_FILE))) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    // Paths in the map are relative to the repo, never absolute: the same bytes on every machine.
    expect(map.sources).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(\.\.\/)+lambda\/alpha\/handler\.ts$/)]),
    );
    expect(map.sources.every((s) => !s.startsWith('/') && !s.includes(os.tmpdir()))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  test('the bundle runs as an ES module and its handler answers', () => {
    const out = bundle(['alpha'], entriesOf(repo), { root: repo.root });
    const dir = writeBundle(out.get('alpha')!, path.join(repo.root, '.bundles'));
    const result = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(path.join(dir, BUNDLE_FILE))}); console.log(JSON.stringify(await m.handler()));`,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(result)).toEqual({
      ok: true,
      text: 'hello alpha',
      schema: 'CREATE TABLE t (id int);\n',
    });
  });

  test('is deterministic: bundling twice gives the same bytes, hash and zip', () => {
    const first = bundle(['alpha', 'beta'], entriesOf(repo), { root: repo.root });
    const second = bundle(['beta', 'alpha'], entriesOf(repo), { root: repo.root });
    for (const name of ['alpha', 'beta']) {
      const a = first.get(name)!;
      const b = second.get(name)!;
      expect(b.hash).toBe(a.hash);
      for (const [file, bytes] of a.files) expect(Buffer.compare(b.files.get(file)!, bytes)).toBe(0);
      expect(sha256(zipFiles(b.files))).toBe(sha256(zipFiles(a.files)));
    }
    expect(first.get('alpha')!.hash).not.toBe(first.get('beta')!.hash);
  });

  test('a change in a shared module changes the hash of the functions that use it only', () => {
    const before = bundle(['alpha', 'beta'], entriesOf(repo), { root: repo.root });
    repo.write(
      'lambda/shared/greeting.ts',
      'export const greeting = (who: string): string => `hi ${who}`;\n',
    );
    const after = bundle(['alpha', 'beta'], entriesOf(repo), { root: repo.root });
    expect(after.get('alpha')!.hash).not.toBe(before.get('alpha')!.hash);
    expect(after.get('beta')!.hash).toBe(before.get('beta')!.hash);
  });

  test('a syntax error fails with the file and line named', () => {
    repo.write(
      'lambda/broken/handler.ts',
      'export const handler = async () => {\n  return { ok: true };\n  const = 1;\n};\n',
    );
    const run = () => bundle(['alpha', 'broken'], entriesOf(repo), { root: repo.root });
    expect(run).toThrow(BundleError);
    expect(run).toThrow(/lambda\/broken\/handler\.ts:3:\d+: /);
  });

  test('an unresolvable import fails with the file, line and module named', () => {
    repo.write(
      'lambda/gamma/handler.ts',
      "import { nope } from './missing';\nexport const handler = nope;\n",
    );
    expect(() => bundle(['gamma'], entriesOf(repo), { root: repo.root })).toThrow(
      /lambda\/gamma\/handler\.ts:1:\d+: Could not resolve "\.\/missing"/,
    );
  });

  test('an unknown function name fails naming the name, the expected file and what exists', () => {
    expect(() => bundle(['alpah'], entriesOf(repo), { root: repo.root })).toThrow(
      /No Lambda entry point for alpah: expected lambda\/<name>\/handler\.ts .*found: alpha, beta/,
    );
  });

  test('analyze reports which packages fill a bundle', () => {
    const out = bundle(['beta'], entriesOf(repo), { root: repo.root, analyze: true });
    expect(out.get('beta')!.packages).toEqual({ '<project>': expect.any(Number) });
  });
});

describe('LambdaBundles', () => {
  test('gives a Lambda asset whose hash is stable across processes and cache folders', () => {
    const keys = [1, 2].map((i) => {
      const bundles = new LambdaBundles({ root: repo.root, cacheDir: path.join(repo.root, `.cache-${i}`) });
      bundles.prepare(['alpha', 'beta']);
      expect(fs.readdirSync(bundles.directory('alpha')).sort()).toEqual([BUNDLE_FILE, SOURCE_MAP_FILE]);
      const stack = new Stack(testApp(), 'Probe');
      new lambda.Function(stack, 'Fn', {
        code: bundles.code('alpha'),
        handler: HANDLER,
        runtime: LAMBDA_RUNTIME,
      });
      const fn = Template.fromStack(stack).findResources('AWS::Lambda::Function');
      return (Object.values(fn)[0] as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key;
    });
    expect(keys[0]).toMatch(/^[0-9a-f]{64}\.zip$/);
    expect(keys[1]).toBe(keys[0]);
  });

  test('prepare refuses a function that has no handler', () => {
    const bundles = new LambdaBundles({ root: repo.root, cacheDir: path.join(repo.root, '.cache') });
    expect(() => bundles.prepare(['alpha', 'nope'])).toThrow(/No Lambda entry point for nope/);
  });
});
