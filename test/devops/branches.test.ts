import * as path from 'node:path';
import { biomeFromBranch, SANDPIT_BRANCH_GLOB } from '../../lib/devops/branches';
import { runTs } from '../fixtures/scripts';

const REPO = path.resolve(__dirname, '..', '..');

function cli(...args: string[]) {
  const r = runTs('scripts/biome-from-branch.ts', args, { cwd: REPO });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('biomeFromBranch', () => {
  test('sandpit/<biome> builds into <biome>', () => {
    expect(biomeFromBranch('sandpit/alice')).toEqual({ ok: true, biome: 'alice' });
    expect(biomeFromBranch('sandpit/team-2')).toEqual({ ok: true, biome: 'team-2' });
  });

  test.each([
    ['sandpit/Main', /"Main" must match/],
    ['sandpit/main', /"main" is reserved/],
    ['sandpit/prod', /"prod" is reserved/],
    ['sandpit/a', /2-20 characters/],
    ['sandpit/alice--bob', /must not contain "--"/],
    ['sandpit/alice/feature', /must match/],
    ['sandpit/', /a biome name is required/],
    ['feature/x', /not a sandpit branch: sandpit branches are named sandpit\/<biome>/],
    ['main', /not a sandpit branch/],
  ])('refuses %s with the rule it breaks', (branch, message) => {
    const result = biomeFromBranch(branch);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(message);
      expect(result.reason).toContain(branch);
    }
  });

  test('a refused sandpit name tells the developer how to fix it', () => {
    const result = biomeFromBranch('sandpit/Main');
    expect(!result.ok && result.reason).toMatch(/Rename the branch \(git branch -m sandpit\/<valid-name>\)/);
  });

  test('the sandpit push filter matches exactly the prefix the parser expects', () => {
    expect(SANDPIT_BRANCH_GLOB).toBe('sandpit/*');
  });
});

describe('scripts/biome-from-branch.ts', () => {
  test('prints the biome of sandpit/alice and exits 0', () => {
    const r = cli('sandpit/alice');
    expect(r).toEqual({ status: 0, stdout: 'alice\n', stderr: '' });
  });

  test.each([
    ['sandpit/Main', /"Main" must match/],
    ['sandpit/main', /"main" is reserved/],
    ['feature/x', /"feature\/x" is not a sandpit branch/],
  ])('refuses %s: exit 1, nothing on stdout, the reason on stderr', (branch, message) => {
    const r = cli(branch);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  test('without a branch it prints its usage and exits 2', () => {
    const r = cli();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: biome-from-branch <branch>/);
  });
});
