/**
 * What Node Biomes needs, stated once (package.json `engines`, which the README repeats) and checked
 * against what every direct dependency declares, so `npm ci` prints no EBADENGINE warning on a
 * supported Node, except the one the README names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';
import { REPO_ROOT } from '../lib/repo';

interface PackageJson {
  readonly engines?: { readonly node?: string };
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as PackageJson;
const own = read(path.join(REPO_ROOT, 'package.json'));
const required = own.engines?.node ?? '';

/** The one dependency whose declared Node range is narrower, and why that is fine (README, test/setup.ts). */
const NARROWER = { 'aws-local-stepfunctions': 'declares Node 22; its one Node 22 API is polyfilled' };

const declared = Object.keys({ ...own.dependencies, ...own.devDependencies })
  .map((name) => ({
    name,
    node: read(path.join(REPO_ROOT, 'node_modules', name, 'package.json')).engines?.node,
  }))
  .filter((d): d is { name: string; node: string } => d.node !== undefined);

test('the Node this suite runs on is one package.json admits', () => {
  expect(semver.validRange(required)).not.toBeNull();
  expect(semver.satisfies(process.versions.node, required)).toBe(true);
});

test('every direct dependency admits every Node package.json admits, but the one the README names', () => {
  const narrower = declared
    .filter((d) => !semver.subset(required, d.node, { includePrerelease: false }))
    .map((d) => d.name);
  expect(narrower).toEqual(Object.keys(NARROWER));
  // ...and it is narrower only below Node 22: on 22.13+ and 24+ nothing warns.
  for (const d of declared) {
    for (const floor of ['22.13.0', '24.0.0'])
      expect([d.name, floor, semver.satisfies(floor, d.node)]).toEqual([d.name, floor, true]);
  }
});

test('the README states the same versions and the one warning', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  expect(required).toBe('^20.19.0 || ^22.13.0 || >=24');
  expect(readme).toContain('Node 20.19+, 22.13+ or 24+');
  expect(readme).toMatch(
    /On Node 20, `npm ci` prints one `EBADENGINE` warning: the test-only Step\s+Functions interpreter `aws-local-stepfunctions`/,
  );
});
