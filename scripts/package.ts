/**
 * `npm run package -- --sha <40 hex> [--out dist] [--root <repo dir>]`: the CodeBuild packaging
 * step, runnable locally. A thin CLI over lib/bundling/package.ts; the services are the entries of
 * the `SERVICES` registry of `<root>/lambda/services.ts`.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { packageArtifacts, PackagingError } from '../lib/bundling/package';
import { REPO_ROOT } from '../lib/repo';

const USAGE = 'usage: npm run package -- --sha <40-hex commit id> [--out dist] [--root <repo dir>]';

async function main(): Promise<number> {
  let values: { sha?: string; out?: string; root?: string };
  try {
    ({ values } = parseArgs({
      options: { sha: { type: 'string' }, out: { type: 'string' }, root: { type: 'string' } },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.sha) {
    console.error(`--sha is required (the full commit id, e.g. --sha "$(git rev-parse HEAD)")\n${USAGE}`);
    return 2;
  }
  const root = path.resolve(values.root ?? REPO_ROOT);
  const out = path.resolve(values.out ?? path.join(root, 'dist'));
  const servicesFile = path.join(root, 'lambda', 'services.ts');
  let services: readonly string[];
  try {
    const mod = (await import(pathToFileURL(servicesFile).href)) as {
      SERVICES?: unknown;
      default?: { SERVICES?: unknown };
    };
    const registry = mod.SERVICES ?? mod.default?.SERVICES;
    if (typeof registry !== 'object' || registry === null || Array.isArray(registry)) {
      throw new Error('it does not export SERVICES (the registry: an object with one entry per service)');
    }
    services = Object.keys(registry);
  } catch (e) {
    console.error(`Cannot read the services from ${servicesFile}: ${(e as Error).message}`);
    return 2;
  }
  try {
    const manifest = packageArtifacts({
      root,
      sha: values.sha,
      out,
      services,
      sbom: true,
      onTrained: (model, ms, metrics) =>
        console.log(
          `trained ${model} in ${ms} ms: ${Object.entries(metrics)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} (its bar: models/${model}/quality.json)`,
        ),
    });
    for (const a of [...manifest.artifacts, ...(manifest.sbom ? [{ kind: 'sbom', ...manifest.sbom }] : [])]) {
      console.log(`${a.kind.padEnd(7)} ${a.file.padEnd(70)} ${String(a.bytes).padStart(9)} B  ${a.sha256}`);
    }
    console.log(`Wrote ${manifest.artifacts.length} artifacts and manifest.json to ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof PackagingError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

void main().then((code) => process.exit(code));
