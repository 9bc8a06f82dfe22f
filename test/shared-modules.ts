/** Entry points of the libraries every test worker loads once (test/environment.ts). */
import * as fs from 'node:fs';

function exportsOf(pkg: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  return Object.keys(manifest.exports ?? { '.': '' })
    .filter((key) => !key.endsWith('.json') && !key.includes('jsii'))
    .map((key) => (key === '.' ? pkg : `${pkg}/${key.slice(2)}`));
}

/** The CDK libraries: what the worker shares, and what a command people run must not load. */
export const CDK_PACKAGES: readonly string[] = [
  'aws-cdk-lib',
  'constructs',
  'cdk-nag',
  '@cdklabs/cdk-validator-cfnguard',
];

export const SHARED_MODULES: readonly string[] = [
  ...CDK_PACKAGES.flatMap(exportsOf),
  // Imported by path (lib/common/nag.ts); cdk-nag has no exports map to list it.
  'cdk-nag/lib/utils/flatten-cfn-reference',
];
