/**
 * The verify tool as the Verify action runs it (scripts/verify-release.ts, in a child process): what
 * it refuses before any AWS call, with exit 2 ("misconfigured") and the variable or file to fix. Its
 * waiting and integration logic is tested against mocked clients in ./verify-release.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTs } from '../fixtures/scripts';
import { VERIFY_ENV } from '../../lib/devops/release/verify';

const SHA = 'a'.repeat(40);

function run(env: Record<string, string | undefined>, manifest?: unknown) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-verify-'));
  try {
    if (manifest !== undefined) fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      [VERIFY_ENV.env]: 'dev',
      [VERIFY_ENV.roleArn]: 'arn:aws:iam::222222222222:role/biomes-dev-release-verify',
      [VERIFY_ENV.app]: 'biomes',
      [VERIFY_ENV.commitSha]: SHA,
      // No AWS call may happen in these cases; an endpoint nobody answers makes sure of it.
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    };
    const merged = Object.fromEntries(
      Object.entries({ ...base, ...env }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    return runTs('scripts/verify-release.ts', [], { cwd: dir, env: merged });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const manifest = (sha = SHA) => ({ sha, artifacts: [{ kind: 'service', name: 'ingest' }] });

test.each([
  [
    'a missing variable',
    { [VERIFY_ENV.roleArn]: undefined },
    manifest(),
    /VERIFY_ROLE_ARN is not set; the verify project sets it/,
  ],
  ['a short commit', { [VERIFY_ENV.commitSha]: 'abc123' }, manifest(), /COMMIT_SHA: /],
  [
    'a timeout that is not whole minutes',
    { [VERIFY_ENV.timeoutMinutes]: '2.5' },
    manifest(),
    /LEDGER_TIMEOUT_MINUTES: "2.5" is not a whole number of minutes/,
  ],
  [
    'no manifest (not the Packages artifact)',
    {},
    undefined,
    /cannot read .*manifest\.json \(the Packages artifact\)/,
  ],
  [
    "another build's manifest",
    {},
    manifest('b'.repeat(40)),
    /manifest\.json is of commit b{40}, not a{40}: the action got another build's artifact/,
  ],
  [
    'a manifest entry that is not {kind, name}',
    {},
    { sha: SHA, artifacts: [{ kind: 'sbom', name: 'x' }] },
    /has an entry that is not \{kind, name\}/,
  ],
  ['a bad biome', { [VERIFY_ENV.biome]: 'Alice' }, manifest(), /VERIFY_BIOME: /],
])('%s: exit 2, VERIFY MISCONFIGURED, before any AWS call', (_why, env, m, message) => {
  const r = run(env, m);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^VERIFY MISCONFIGURED: /m);
  expect(r.stderr).toMatch(message);
});
