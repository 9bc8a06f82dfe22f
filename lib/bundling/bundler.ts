/**
 * One bundler for every Lambda (docs/design.md, docs/style.md "Toolchain facts"): all requested entry points
 * in a single esbuild call through the JS API, never one `npx esbuild` process per function. CDK
 * constructs take their code from here, and `npm run package` (the CodeBuild packaging step) uses
 * the same options, so a sandpit runs what the pipeline ships.
 *
 * Importing this module does nothing slow: esbuild only starts when something is bundled.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import * as esbuild from 'esbuild';
import { REPO_ROOT } from '../repo';

export const LAMBDA_ROOT = path.join(REPO_ROOT, 'lambda');
/** Folders under lambda/ that hold shared modules, not functions. */
const NOT_FUNCTIONS = new Set(['shared']);

/** The Lambda runtime every function targets; esbuild targets the same Node version. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ESBUILD_TARGET = 'node22';
/** File name of the bundle inside a function's asset; the handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';
export const SOURCE_MAP_FILE = `${BUNDLE_FILE}.map`;
export const HANDLER = 'index.handler';

/**
 * Source maps: every bundle ships `index.mjs.map` and a `sourceMappingURL` comment, but functions do
 * NOT set `NODE_OPTIONS=--enable-source-maps` by default. Measured on this machine (`npm run bench`
 * reports both columns every run): a 740 KB bundle with five SDK v3 clients imports in ~66 ms
 * without the flag and ~76 ms with it (+15%, Node parses the 1.3 MB map at load), and with the flag
 * every `error.stack` is rewritten through the map, which is slow on hot error paths. Without the
 * flag the linked map costs nothing at runtime. To read a production stack trace, set this
 * environment on the one function being debugged (or map the trace offline with the shipped map).
 */
export const SOURCE_MAPS_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--enable-source-maps',
};

/** Every function folder: `<lambdaRoot>/<name>/handler.ts`, sorted by name. */
export function discoverEntryPoints(root: string = LAMBDA_ROOT): Record<string, string> {
  const entries: Record<string, string> = {};
  const dirs = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !NOT_FUNCTIONS.has(d.name) && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  for (const name of dirs) {
    const handler = path.join(root, name, 'handler.ts');
    if (fs.existsSync(handler)) entries[name] = handler;
  }
  return entries;
}

export interface BundleOutput {
  readonly name: string;
  /** Files of the bundle, relative path -> bytes (`index.mjs` and `index.mjs.map`). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** SHA-256 of the files (names and bytes); equal input gives an equal hash. */
  readonly hash: string;
  /** Bytes each npm package (or `<project>`) contributes to `index.mjs`; only with `analyze`. */
  readonly packages?: Readonly<Record<string, number>>;
}

export interface BundleOptions {
  /**
   * Repository root: esbuild's working directory, so file names in errors and source maps are
   * relative to it (and machine-independent).
   * @default REPO_ROOT
   */
  readonly root?: string;
  /**
   * Also report which packages fill each bundle (esbuild metafile); used by the benchmark.
   * @default false
   */
  readonly analyze?: boolean;
  /**
   * Called with every file the call read (relative to `root`), for the input cache of {@link LambdaBundles}.
   * @default - not collected
   */
  readonly onInputs?: (files: readonly string[]) => void;
}

/** The esbuild options shared by synth and packaging. `outdir` is virtual: nothing is written. */
export function esbuildOptions(
  entries: Record<string, string>,
  outdir: string,
  root: string = REPO_ROOT,
): esbuild.BuildOptions {
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
    // Module-first main fields let esbuild tree-shake the ESM builds of the AWS SDK v3 clients
    // (about 2x smaller than the CommonJS builds).
    mainFields: ['module', 'main'],
    // Linked, not external: the bundle names its map, so `NODE_OPTIONS=--enable-source-maps` alone
    // turns mapped traces on (see SOURCE_MAPS_ENVIRONMENT). No sources inside: the map stays small.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: root,
    // A fixture tree outside the repository still resolves the repository's packages.
    nodePaths: [path.join(REPO_ROOT, 'node_modules')],
    // Lambda supplies credentials as environment variables: keep only that link of the SDK's chain.
    alias: {
      '@aws-sdk/credential-provider-node': path.join(REPO_ROOT, 'lib', 'bundling', 'lambda-credentials.ts'),
    },
    // Some CommonJS dependencies call require() for Node built-ins; give ESM output a require.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  };
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** `path:line:column: message` for each esbuild message, with the offending line. */
function describe(messages: readonly esbuild.Message[]): string {
  return messages
    .map((m) => {
      if (!m.location) return `  ${m.text}`;
      const { file, line, column, lineText } = m.location;
      return `  ${file}:${line}:${column}: ${m.text}\n      ${lineText.trim()}`;
    })
    .join('\n');
}

/** The entries named, in that order; every name must have an entry (checked by the caller). */
function pick(entries: Record<string, string>, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const n of names) {
    const file = entries[n];
    if (file) picked[n] = file;
  }
  return picked;
}

/** Code-unit order: the same on every machine (unlike localeCompare). */
function byName<T>([a]: [string, T], [b]: [string, T]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bytes per npm package in one output of a metafile (`<project>` for code outside node_modules). */
function packagesOf(output: esbuild.Metafile['outputs'][string]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const [file, input] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = match?.[1] ?? '<project>';
    sizes[key] = (sizes[key] ?? 0) + input.bytesInOutput;
  }
  return sizes;
}

/**
 * Bundles the named functions in one esbuild call and returns them in memory.
 * Throws {@link BundleError} naming the file and line of every error.
 */
export function bundle(
  names: readonly string[],
  entries: Record<string, string> = discoverEntryPoints(),
  options: BundleOptions = {},
): Map<string, BundleOutput> {
  const root = options.root ?? REPO_ROOT;
  const wanted = [...new Set(names)];
  const unknown = wanted.filter((n) => !entries[n]);
  if (unknown.length > 0) {
    const found = Object.keys(entries);
    throw new BundleError(
      `No Lambda entry point for ${unknown.join(', ')}: expected lambda/<name>/handler.ts for each ` +
        `(found: ${found.length > 0 ? found.join(', ') : 'none'}). Add the handler or fix the name (lambda/services.ts for a service).`,
    );
  }
  const outputs = new Map<string, BundleOutput>();
  if (wanted.length === 0) return outputs;
  const selected = pick(entries, wanted);
  const outdir = path.join(root, '.bundles', 'out');
  let result: esbuild.BuildResult<{ write: false; metafile: boolean }>;
  try {
    result = esbuild.buildSync({
      ...esbuildOptions(selected, outdir, root),
      write: false,
      metafile: options.analyze === true || options.onInputs !== undefined,
    });
  } catch (e) {
    const errors = (e as Partial<esbuild.BuildFailure>).errors ?? [];
    throw new BundleError(
      `Bundling Lambda functions failed; fix these and synth again:\n${errors.length > 0 ? describe(errors) : String(e)}`,
    );
  }
  if (options.onInputs && result.metafile) options.onInputs(Object.keys(result.metafile.inputs));
  for (const name of wanted) {
    const files = new Map<string, Uint8Array>();
    for (const f of result.outputFiles) {
      const rel = path.relative(outdir, f.path).split(path.sep).join('/');
      if (rel.startsWith(`${name}/`)) files.set(rel.slice(name.length + 1), f.contents);
    }
    const h = createHash('sha256');
    for (const [file, bytes] of [...files].sort(byName))
      h.update(file).update('\0').update(bytes).update('\0');
    const meta = result.metafile?.outputs[path.relative(root, path.join(outdir, name, BUNDLE_FILE))];
    outputs.set(name, {
      name,
      files,
      hash: h.digest('hex'),
      ...(meta ? { packages: packagesOf(meta) } : {}),
    });
  }
  return outputs;
}

/** Writes a bundle to a content-addressed folder (`<cacheDir>/<name>-<hash>/`) and returns it. */
export function writeBundle(out: BundleOutput, cacheDir = path.join(REPO_ROOT, '.bundles')): string {
  const dir = path.join(cacheDir, `${out.name}-${out.hash.slice(0, 16)}`);
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

/** What a previous `prepare` read and wrote: input file -> [size, mtime], function -> bundle. */
interface BundleManifest {
  readonly inputs: Record<string, [number, number]>;
  readonly bundles: Record<string, { dir: string; hash: string }>;
}

export interface LambdaBundlesOptions {
  /**
   * Repository root holding `lambda/<name>/handler.ts`.
   * @default REPO_ROOT
   */
  readonly root?: string;
  /**
   * Where bundles are written, one content-addressed folder each.
   * @default `<root>/.bundles`
   */
  readonly cacheDir?: string;
}

/**
 * Per-process cache of bundled functions. The app calls {@link prepare} once with every function
 * the selected stacks need (one esbuild call); constructs then call {@link code}.
 */
export class LambdaBundles {
  private static shared: LambdaBundles | undefined;
  private static readonly attached = new WeakMap<IConstruct, LambdaBundles>();

  /** The process-wide instance the app and its constructs share. */
  static instance(): LambdaBundles {
    return (LambdaBundles.shared ??= new LambdaBundles());
  }

  /**
   * Makes every construct under `app` take its code from `bundles` (a fixture repository in tests);
   * without it they use {@link instance}.
   */
  static attach(app: IConstruct, bundles: LambdaBundles): void {
    LambdaBundles.attached.set(app.node.root, bundles);
  }

  /** The bundles of the app that `scope` belongs to. */
  static of(scope: IConstruct): LambdaBundles {
    return LambdaBundles.attached.get(scope.node.root) ?? LambdaBundles.instance();
  }

  /** Repository root this instance bundles from (its `lambda/` holds the functions). */
  get lambdaRoot(): string {
    return path.join(this.root, 'lambda');
  }

  private readonly root: string;
  private readonly cacheDir: string;
  private readonly bundles = new Map<string, { dir: string; hash: string }>();

  /** A private instance (tests, the benchmark); the app uses {@link instance}. */
  constructor(options: LambdaBundlesOptions = {}) {
    this.root = options.root ?? REPO_ROOT;
    this.cacheDir = options.cacheDir ?? path.join(this.root, '.bundles');
  }

  /** How many esbuild calls this instance made (the input cache avoids them); for tests and the benchmark. */
  esbuildCalls = 0;

  /**
   * Bundles, in one esbuild call, every named function not bundled yet. When a previous synth
   * bundled the same functions with the same options and none of the files esbuild read has changed
   * (size and modification time), its bundles are reused and esbuild does not run at all.
   */
  prepare(names: readonly string[]): void {
    const missing = [...new Set(names)].filter((n) => !this.bundles.has(n)).sort();
    if (missing.length === 0) return;
    const entries = discoverEntryPoints(path.join(this.root, 'lambda'));
    const manifestFile = this.manifestFile(missing, entries);
    const cached = this.readManifest(manifestFile);
    if (cached) {
      for (const [name, b] of Object.entries(cached.bundles)) this.bundles.set(name, b);
      return;
    }
    let inputs: readonly string[] = [];
    this.esbuildCalls++;
    const outputs = bundle(missing, entries, { root: this.root, onInputs: (files) => (inputs = files) });
    const written: Record<string, { dir: string; hash: string }> = {};
    for (const out of outputs.values()) {
      const bundled = { dir: writeBundle(out, this.cacheDir), hash: out.hash };
      written[out.name] = bundled;
      this.bundles.set(out.name, bundled);
    }
    this.writeManifest(manifestFile, { inputs: this.stat(inputs), bundles: written });
  }

  /** One manifest per set of functions and bundler options (a change of either is a new key). */
  private manifestFile(names: readonly string[], entries: Record<string, string>): string {
    const selected = pick(
      entries,
      names.filter((n) => entries[n]),
    );
    const options = esbuildOptions(selected, path.join(this.root, '.bundles', 'out'), this.root);
    const key = createHash('sha256')
      .update(JSON.stringify({ esbuild: esbuild.version, names, options }))
      .digest('hex')
      .slice(0, 24);
    return path.join(this.cacheDir, `inputs-${key}.json`);
  }

  private stat(files: readonly string[]): Record<string, [number, number]> {
    const stats: Record<string, [number, number]> = {};
    for (const file of files) {
      const st = fs.statSync(path.resolve(this.root, file), { throwIfNoEntry: false });
      stats[file] = st ? [st.size, st.mtimeMs] : [-1, -1];
    }
    return stats;
  }

  private readManifest(file: string): BundleManifest | undefined {
    let manifest: BundleManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleManifest;
    } catch {
      return undefined; // none yet, or unreadable: bundle
    }
    const now = this.stat(Object.keys(manifest.inputs));
    for (const [input, [size, mtime]] of Object.entries(manifest.inputs)) {
      if (now[input]?.[0] !== size || now[input]?.[1] !== mtime) return undefined;
    }
    for (const b of Object.values(manifest.bundles)) {
      if (!fs.existsSync(path.join(b.dir, BUNDLE_FILE))) return undefined;
    }
    return manifest;
  }

  private writeManifest(file: string, manifest: BundleManifest): void {
    const tmp = `${file}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(manifest));
    fs.renameSync(tmp, file);
  }

  /** Folder holding the function's bundle (`index.mjs` and its map). */
  directory(name: string): string {
    return this.bundled(name).dir;
  }

  /** Lambda code for a function under lambda/<name>/. */
  code(name: string): lambda.Code {
    const { dir, hash } = this.bundled(name);
    // The bundle hash is already a content hash: CDK need not fingerprint the folder again.
    return lambda.Code.fromAsset(dir, { assetHash: hash, assetHashType: AssetHashType.CUSTOM });
  }

  private bundled(name: string): { dir: string; hash: string } {
    this.prepare([name]);
    const found = this.bundles.get(name);
    if (!found) throw new BundleError(`${name} was not bundled: no lambda/${name}/handler.ts`);
    return found;
  }
}
