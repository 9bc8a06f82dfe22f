/**
 * The build's own shell steps (lib/devops/buildspec/build.yml), run with bash against a real Git
 * clone and a stand-in `npx` that prints what it was asked: what CodeBuild would run, minus CDK.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

const SPEC = path.join(__dirname, '..', '..', 'lib', 'devops', 'buildspec', 'build.yml');
const SHA = 'e'.repeat(40);

/** The build phase's synth step: the command of `phases.build.commands` that runs `cdk synth`. */
function synthStep(): string {
  const spec = parse(fs.readFileSync(SPEC, 'utf8')) as { phases: { build: { commands: string[] } } };
  const step = spec.phases.build.commands.find((c) => c.includes('cdk synth'));
  if (!step) throw new Error('build.yml has no cdk synth step in phases.build.commands');
  return step;
}

describe('the synth step of the build', () => {
  let work: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'build-spec-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: work, stdio: 'pipe' });
    git('init', '-q');
    fs.writeFileSync(path.join(work, 'README.md'), 'x\n');
    git('add', '.');
    git('-c', 'user.name=Bob', '-c', 'user.email=bob@example.com', 'commit', '-qm', 'sandpit change');
    // A stand-in npx: prints its arguments, one per line.
    fs.mkdirSync(path.join(work, 'bin'));
    fs.writeFileSync(path.join(work, 'bin', 'npx'), '#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n', {
      mode: 0o755,
    });
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const run = (env: Record<string, string>) => {
    const r = spawnSync('bash', ['--norc', '-e', '-c', synthStep()], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: work,
      encoding: 'utf8',
      env: {
        PATH: `${path.join(work, 'bin')}:${process.env.PATH ?? ''}`,
        HOME: work,
        COMMIT_SHA: SHA,
        ...env,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout.trim().split('\n');
  };

  test("a sandpit build names the branch commit's author as the owner, and synthesizes only its biome", () => {
    expect(run({ PIPELINE_KIND: 'sandpit', BIOME: 'bob' })).toEqual([
      'cdk',
      'synth',
      '--quiet',
      '-c',
      `commit=${SHA}`,
      '-c',
      'biome=bob',
      '-c',
      'owner=bob@example.com',
    ]);
  });

  test('a release build synthesizes the whole app with the commit, and names no owner', () => {
    expect(run({ PIPELINE_KIND: 'release' })).toEqual(['cdk', 'synth', '--quiet', '-c', `commit=${SHA}`]);
  });
});
