/**
 * `npm run build-tools -- --out tools`: bundles the pipeline's own tools (scripts/verify-release.ts)
 * into `tools/<name>/index.mjs`, the build's Tools artifact, so the verify projects run exactly the
 * code the build tested, without installing anything. Same esbuild options as the Lambda bundles
 * (lib/bundling/bundler.ts), except the SDK's full credential chain: CodeBuild serves credentials
 * from its container endpoint, not as environment variables.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { BUNDLE_FILE, esbuildOptions } from '../lib/bundling/bundler';
import { REPO_ROOT } from '../lib/repo';
import { VERIFY_TOOL } from '../lib/devops/verify-project';
import { OWNER_CHECK_TOOL } from '../lib/devops/sandpit-deploy-project';

export const TOOLS: Readonly<Record<string, string>> = {
  [VERIFY_TOOL]: path.join(REPO_ROOT, 'scripts', 'verify-release.ts'),
  [OWNER_CHECK_TOOL]: path.join(REPO_ROOT, 'scripts', 'sandpit-owner-check.ts'),
};

function main(): number {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'tools' } }, strict: true });
  const out = path.resolve(values.out ?? 'tools');
  const { alias: _lambdaOnly, ...options } = esbuildOptions(TOOLS, out);
  const result = esbuild.buildSync({ ...options, write: false });
  fs.mkdirSync(out, { recursive: true });
  for (const file of result.outputFiles) {
    fs.mkdirSync(path.dirname(file.path), { recursive: true });
    fs.writeFileSync(file.path, file.contents);
  }
  for (const name of Object.keys(TOOLS)) {
    if (!fs.existsSync(path.join(out, name, BUNDLE_FILE))) {
      console.error(`build-tools: ${name}/${BUNDLE_FILE} was not written`);
      return 1;
    }
    console.log(`tool ${name} -> ${path.relative(process.cwd(), path.join(out, name, BUNDLE_FILE))}`);
  }
  return 0;
}

process.exitCode = main();
