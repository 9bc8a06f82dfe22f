/**
 * `npm run audit`: software composition analysis of the production dependencies (a build step; it
 * needs the registry). Fails on a high or critical advisory that audit-allowlist.json does not accept,
 * or on an expired entry (lib/devops/supply-chain/audit.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeAudit, evaluateAudit, parseAllowlist } from '../lib/devops/supply-chain/audit';
import { REPO_ROOT } from '../lib/repo';

const file = path.join(REPO_ROOT, 'audit-allowlist.json');
const allowlist = parseAllowlist(JSON.parse(fs.readFileSync(file, 'utf8')) as unknown);
// npm audit exits non-zero when it finds anything: the JSON on stdout is what counts.
const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
  cwd: REPO_ROOT,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
let report: unknown;
try {
  report = JSON.parse(run.stdout) as unknown;
} catch {
  console.error(`npm audit gave no JSON (exit ${String(run.status)}): ${run.stderr.slice(0, 500)}`);
  process.exit(1);
}
try {
  const { ok, lines } = describeAudit(evaluateAudit(report, allowlist, new Date()));
  for (const line of lines) (ok ? console.log : console.error)(line);
  process.exit(ok ? 0 : 1);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
