/** What bin/ reads from the Git working tree for a sandpit deploy: author email, commit, dirty. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWorkingTree } from '../../bin/working-tree';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

test('a clean tree: its author email and HEAD, not dirty; a change or an untracked file makes it dirty', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-tree-'));
  git(dir, 'init', '-q');
  git(dir, 'config', 'user.email', 'alice@example.com');
  git(dir, 'config', 'user.name', 'Alice');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'first');
  const head = git(dir, 'rev-parse', 'HEAD');
  expect(readWorkingTree(dir)).toEqual({ authorEmail: 'alice@example.com', commit: head, dirty: false });
  fs.writeFileSync(path.join(dir, 'new.ts'), 'export {};');
  expect(readWorkingTree(dir).dirty).toBe(true);
});

test('outside a Git tree nothing is known (the caller asks for -c owner)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-notree-'));
  const facts = readWorkingTree(dir);
  expect(facts.commit).toBeUndefined();
  expect(facts.dirty).toBeUndefined();
});
