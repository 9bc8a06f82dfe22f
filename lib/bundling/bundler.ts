/**
 * One bundler for every Lambda (DESIGN.md, STYLE.md "Toolchain facts"): all requested entry points
 * in a single esbuild call through the JS API, never one `npx esbuild` process per function. CDK
 * constructs take their code from here, and `npm run package` (the CodeBuild packaging step) uses
 * the same options, so a sandpit runs what the pipeline ships.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** Repository root (this file is lib/bundling/bundler.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const LAMBDA_ROOT = path.join(REPO_ROOT, 'lambda');
/** Folders under lambda/ that hold shared modules, not functions. */
const NOT_FUNCTIONS = new Set(['shared']);

/** The Lambda runtime every function targets; esbuild targets the same Node version. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ESBUILD_TARGET = 'node22';
/** File name of the bundle inside a function's asset; the handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';
export const HANDLER = 'index.handler';

/** Every function folder: `lambda/<name>/handler.ts`. */
export function discoverEntryPoints(root: string = LAMBDA_ROOT): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const dir of fs.readdirSync(root, { withFileTypes: true })) {
    if (!dir.isDirectory() || NOT_FUNCTIONS.has(dir.name)) continue;
    const handler = path.join(root, dir.name, 'handler.ts');
    if (fs.existsSync(handler)) entries[dir.name] = handler;
  }
  return entries;
}

export interface BundleOutput {
  readonly name: string;
  /** Files of the bundle, relative path -> bytes (the bundle and its source map). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Hash of the files; equal input gives an equal hash. */
  readonly hash: string;
}

/** The esbuild options shared by synth and packaging. */
export function esbuildOptions(entries: Record<string, string>, outdir: string): esbuild.BuildOptions {
  return {
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [`${name}/index`, file])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: true,
    treeShaking: true,
    // Module-first main fields let esbuild tree-shake the ESM builds of the AWS SDK v3 clients.
    mainFields: ['module', 'main'],
    sourcemap: 'external',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: REPO_ROOT,
    // Some CommonJS dependencies call require() for Node built-ins; give ESM output a require.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  };
}

export class BundleError extends Error {}

/** Bundles the named functions in one esbuild call. Throws {@link BundleError} naming file and line. */
export function bundle(names: readonly string[], entries = discoverEntryPoints()): Map<string, BundleOutput> {
  const unknown = names.filter((n) => !entries[n]);
  if (unknown.length > 0) {
    throw new BundleError(
      `No Lambda entry point for ${unknown.join(', ')}: expected lambda/<name>/handler.ts (found ${Object.keys(entries).join(', ')})`,
    );
  }
  const selected = Object.fromEntries(names.map((n) => [n, entries[n]]));
  const outdir = path.join(REPO_ROOT, '.bundles', 'out');
  let result: esbuild.BuildResult<{ write: false }>;
  try {
    result = esbuild.buildSync({ ...esbuildOptions(selected, outdir), write: false }) as esbuild.BuildResult<{
      write: false;
    }>;
  } catch (e) {
    const failure = e as esbuild.BuildFailure;
    const where = (failure.errors ?? [])
      .map(
        (m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`,
      )
      .join('\n');
    throw new BundleError(`Bundling Lambda functions failed:\n${where || String(e)}`);
  }
  const outputs = new Map<string, BundleOutput>();
  for (const name of names) {
    const files = new Map<string, Uint8Array>();
    for (const f of result.outputFiles) {
      const rel = path.relative(outdir, f.path);
      if (rel.startsWith(`${name}${path.sep}`)) files.set(rel.slice(name.length + 1), f.contents);
    }
    const h = createHash('sha256');
    for (const [file, bytes] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      h.update(file).update('\0').update(bytes).update('\0');
    }
    outputs.set(name, { name, files, hash: h.digest('hex') });
  }
  return outputs;
}

/** Writes a bundle to a content-addressed folder (`.bundles/<name>-<hash>/`) and returns it. */
export function writeBundle(out: BundleOutput, root = path.join(REPO_ROOT, '.bundles')): string {
  const dir = path.join(root, `${out.name}-${out.hash.slice(0, 16)}`);
  if (fs.existsSync(path.join(dir, BUNDLE_FILE))) return dir;
  // Build in a private folder and rename: parallel synths (jest workers) never see a half-written bundle.
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  for (const [file, bytes] of out.files) fs.writeFileSync(path.join(tmp, file), bytes);
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true }); // another process won the race with the same bytes
  }
  return dir;
}

/**
 * Per-process cache of bundled functions. The app calls {@link prepare} once with every function
 * the selected stacks need (one esbuild call); constructs then call {@link code}.
 */
export class LambdaBundles {
  private static shared: LambdaBundles | undefined;
  static instance(): LambdaBundles {
    return (LambdaBundles.shared ??= new LambdaBundles());
  }

  private readonly dirs = new Map<string, string>();

  /** Bundles, in one esbuild call, every named function not bundled yet. */
  prepare(names: readonly string[]): void {
    const missing = [...new Set(names)].filter((n) => !this.dirs.has(n));
    if (missing.length === 0) return;
    for (const out of bundle(missing).values()) this.dirs.set(out.name, writeBundle(out));
  }

  /** Folder holding the function's bundle. */
  directory(name: string): string {
    this.prepare([name]);
    return this.dirs.get(name)!;
  }

  /** Lambda code for a function under lambda/<name>/. */
  code(name: string): lambda.Code {
    return lambda.Code.fromAsset(this.directory(name));
  }
}
