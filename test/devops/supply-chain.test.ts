/**
 * The build's supply-chain checks: the audit's allow-list (lib/devops/supply-chain/audit.ts) on npm's
 * own report shape, and secretlint with the repository's configuration on a planted secret. Offline:
 * the audit's call to the registry is a build step, these tests feed it reports.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/repo';
import { makeSbom } from '../../lib/bundling/sbom';
import { describeAudit, evaluateAudit, parseAllowlist } from '../../lib/devops/supply-chain/audit';

const NOW = new Date('2026-12-03T12:00:00Z');
const GHSA = 'GHSA-mwcw-c2x4-8c55';

/** An `npm audit --json` report (auditReportVersion 2, npm 7+): one direct high, its dependent, one moderate. */
function report() {
  return {
    auditReportVersion: 2,
    vulnerabilities: {
      nanoid: {
        name: 'nanoid',
        severity: 'high',
        isDirect: false,
        via: [
          {
            source: 1101163,
            name: 'nanoid',
            dependency: 'nanoid',
            title: 'Predictable results in nanoid generation when given non-integer values',
            url: `https://github.com/advisories/${GHSA}`,
            severity: 'high',
            range: '<3.3.8',
          },
        ],
        effects: ['postcss'],
        range: '<3.3.8',
        nodes: ['node_modules/nanoid'],
        fixAvailable: true,
      },
      // Vulnerable only through nanoid: its entry names nanoid, not an advisory of its own.
      postcss: { name: 'postcss', severity: 'high', via: ['nanoid'], effects: [], range: '*', nodes: [] },
      debug: {
        name: 'debug',
        severity: 'moderate',
        via: [
          {
            source: 1,
            name: 'debug',
            title: 'ReDoS',
            url: 'https://github.com/advisories/GHSA-gxpj-cx7g-858c',
            severity: 'moderate',
          },
        ],
      },
    },
    metadata: { vulnerabilities: { high: 2, moderate: 1 } },
  };
}

const entry = (expires: string) => ({
  id: GHSA,
  package: 'nanoid',
  reason: 'only used by a build-time tool; no user input reaches it',
  expires,
});

describe('npm audit with the allow-list', () => {
  test('a high advisory nobody accepted fails the build, naming the package, advisory and what to do', () => {
    const result = evaluateAudit(report(), [], NOW);
    expect(result.refused).toEqual([
      expect.objectContaining({ package: 'nanoid', id: GHSA, severity: 'high' }),
    ]);
    const { ok, lines } = describeAudit(result);
    expect(ok).toBe(false);
    expect(lines[0]).toMatch(
      new RegExp(
        `^REFUSED high ${GHSA} in nanoid: Predictable results .*accept it in audit-allowlist.json with a reason and an expiry date$`,
      ),
    );
    // The moderate one and the dependent's name-only entry do not count.
    expect(result.refused).toHaveLength(1);
  });

  test('accepted until its expiry date (inclusive), with its reason printed', () => {
    const result = evaluateAudit(report(), parseAllowlist([entry('2026-12-03')]), NOW);
    expect(result.refused).toEqual([]);
    const { ok, lines } = describeAudit(result);
    expect(ok).toBe(true);
    expect(lines).toContain(
      `accepted high ${GHSA} in nanoid until 2026-12-03: only used by a build-time tool; no user input reaches it`,
    );
  });

  test('an expired entry fails the build even where the advisory is gone', () => {
    const clean = { auditReportVersion: 2, vulnerabilities: {} };
    const result = evaluateAudit(clean, parseAllowlist([entry('2026-12-02')]), NOW);
    const { ok, lines } = describeAudit(result);
    expect(ok).toBe(false);
    expect(lines[0]).toBe(
      `EXPIRED allow-list entry ${GHSA} (nanoid) expired on 2026-12-02: fix the advisory, or renew the entry with a new date and a reason that still holds`,
    );
  });

  test('an entry for another package does not accept the advisory', () => {
    const result = evaluateAudit(
      report(),
      parseAllowlist([{ ...entry('2027-01-31'), package: 'postcss' }]),
      NOW,
    );
    expect(result.refused).toHaveLength(1);
  });

  test.each([
    [
      'no id',
      [{ package: 'x', reason: 'a reason long enough to count', expires: '2027-01-01' }],
      /\[0\.id\]/,
    ],
    ['an npm advisory number', [{ ...entry('2027-01-01'), id: '1101163' }], /GitHub advisory id/],
    ['a short reason', [{ ...entry('2027-01-01'), reason: 'fine' }], /say why it is accepted/],
    ['a bad date', [{ ...entry('31/01/2027') }], /must be a date YYYY-MM-DD/],
    ['an unknown key', [{ ...entry('2027-01-01'), until: 'x' }], /Unrecognized key/],
  ])('a malformed allow-list (%s) is refused, naming the entry', (_why, value, message) => {
    expect(() => parseAllowlist(value)).toThrow(message);
  });

  test("the registry's refusal is said as such", () => {
    expect(() =>
      evaluateAudit({ message: '405 Method Not Allowed - POST .../advisories/bulk' }, [], NOW),
    ).toThrow(/npm audit could not ask the registry \(405 Method Not Allowed/);
  });

  test("the repository's allow-list parses", () => {
    expect(() =>
      parseAllowlist(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'audit-allowlist.json'), 'utf8'))),
    ).not.toThrow();
  });
});

describe('secret detection (secretlint, the repository configuration)', () => {
  const secretlint = (cwd: string) =>
    spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'secretlint'), ['--maskSecrets', '**/*'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });

  test('finds a planted AWS secret access key and fails, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-secrets-'));
    try {
      fs.copyFileSync(path.join(REPO_ROOT, '.secretlintrc.json'), path.join(dir, '.secretlintrc.json'));
      // Assembled here, so this file itself holds no secret-shaped string.
      // (Not AWS's documented example key, which secretlint knows and lets through.)
      const secret = ['Mv9zQw3Lx7Tp2Rk8', 'Yh5Jd1Nc6Fg4Bs0Ve9Ua3Xo2'].join('');
      fs.writeFileSync(path.join(dir, 'settings.env'), `aws_secret_access_key = "${secret}"\n`);
      const r = secretlint(dir);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('settings.env');
      expect(r.stdout + r.stderr).not.toContain(secret);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the build runs them (lib/devops/buildspec/build.yml)', () => {
  const spec = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'devops', 'buildspec', 'build.yml'), 'utf8');

  test('secrets and audit before the tests, so a build with either stops before anything is packaged', () => {
    const preBuild = spec.slice(spec.indexOf('  pre_build:'), spec.indexOf('  build:'));
    expect(preBuild).toContain('- npm run secrets');
    expect(preBuild).toContain('- npm run audit');
    expect(spec.indexOf('- npm run audit')).toBeLessThan(spec.indexOf('- npm test'));
  });

  test("jest's JUnit report is a CodeBuild report", () => {
    expect(spec).toMatch(
      /^reports:\n {2}jest:\n {4}base-directory: reports\n {4}files:\n {6}- jest\.xml\n {4}file-format: JUNITXML$/m,
    );
  });
});

describe('the SBOM (lib/bundling/sbom.ts)', () => {
  const SHA = 'c0ffee'.padEnd(40, '0');
  const parse = (bytes: Uint8Array) =>
    JSON.parse(new TextDecoder().decode(bytes)) as {
      bomFormat: string;
      serialNumber: string;
      metadata: { timestamp?: string; properties: { name: string; value: string }[] };
      components: { name: string }[];
    };

  test('CycloneDX of the production dependencies, the same bytes for the same commit', () => {
    const first = makeSbom(REPO_ROOT, SHA);
    expect(Buffer.from(makeSbom(REPO_ROOT, SHA)).equals(Buffer.from(first))).toBe(true);
    const bom = parse(first);
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.serialNumber).toMatch(/^urn:uuid:c0ffee00-0000-4000-8000-000000000000$/);
    expect(bom.metadata.timestamp).toBeUndefined();
    expect(bom.metadata.properties).toContainEqual({ name: 'biomes:commit', value: SHA });
    const names = bom.components.map((c) => c.name);
    // What the bundles are made of, not the test tools.
    expect(names).toContain('@aws-lambda-powertools/logger');
    expect(names).not.toContain('jest');
    expect(Buffer.from(makeSbom(REPO_ROOT, 'd'.repeat(40))).equals(Buffer.from(first))).toBe(false);
  });

  test('an npm that cannot make one stops the packaging with what it said', () => {
    expect(() => makeSbom(REPO_ROOT, SHA, 'false')).toThrow(/npm sbom failed \(exit 1\)/);
  });
});
