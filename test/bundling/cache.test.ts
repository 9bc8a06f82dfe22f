import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LambdaBundles } from '../../lib/bundling/bundler';
import { fixtureRepo, SERVICE_FILES } from './fixture-repo';

// A developer synthesizes many times a day: unchanged inputs must not run esbuild again.
describe('the bundle input cache', () => {
  const repo = fixtureRepo(SERVICE_FILES);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-bundle-cache-'));
  afterAll(() => {
    repo.remove();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });
  const fresh = () => new LambdaBundles({ root: repo.root, cacheDir });

  test('a second synth with unchanged inputs reuses the bundles without esbuild', () => {
    const first = fresh();
    first.prepare(['alpha', 'beta']);
    expect(first.esbuildCalls).toBe(1);
    const second = fresh();
    second.prepare(['beta', 'alpha']);
    expect(second.esbuildCalls).toBe(0);
    expect(second.directory('alpha')).toBe(first.directory('alpha'));
  });

  test('a changed input, even a shared module, bundles again with new bytes', () => {
    const before = fresh();
    before.prepare(['alpha', 'beta']);
    const oldDir = before.directory('alpha');
    repo.write(
      'lambda/shared/greeting.ts',
      'export const greeting = (who: string): string => `good day, ${who}`;\n',
    );
    const after = fresh();
    after.prepare(['alpha', 'beta']);
    expect(after.esbuildCalls).toBe(1);
    expect(after.directory('alpha')).not.toBe(oldDir);
    expect(fs.readFileSync(path.join(after.directory('alpha'), 'index.mjs'), 'utf8')).toContain('good day');
  });

  test('a different set of functions is its own cache entry', () => {
    const only = fresh();
    only.prepare(['beta']);
    expect(only.esbuildCalls).toBe(1);
    const again = fresh();
    again.prepare(['beta']);
    expect(again.esbuildCalls).toBe(0);
  });

  test('a deleted bundle folder is rebuilt, not trusted', () => {
    const a = fresh();
    a.prepare(['alpha', 'beta']);
    fs.rmSync(a.directory('alpha'), { recursive: true, force: true });
    const b = fresh();
    b.prepare(['alpha', 'beta']);
    expect(b.esbuildCalls).toBe(1);
    expect(fs.existsSync(path.join(b.directory('alpha'), 'index.mjs'))).toBe(true);
  });
});
