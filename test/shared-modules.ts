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

export const SHARED_MODULES: readonly string[] = [
  ...exportsOf('aws-cdk-lib'),
  ...exportsOf('constructs'),
  'cdk-nag',
  'cdk-nag/lib/utils/flatten-cfn-reference',
  ...exportsOf('@cdklabs/cdk-validator-cfnguard'),
];
