/**
 * The build's packaging step (`npm run package`, docs/design.md "Accounts and flow"): every
 * microservice becomes `<name>-<sha>.zip` (the same bundle CDK deploys, from the same bundler) and
 * every model directory `models/<name>/` becomes `<name>-<sha>.tar.gz`, plus `manifest.json`.
 *
 * A model archive is laid out the way the endpoint's container reads it (lib/workload/shared/inference.ts):
 * the model's files at the root, and `models/<name>/code/inference.py` at the root as `inference.py`;
 * `code/` itself is not kept. SageMaker extracts the archive into the model's directory, and MMS
 * starts the model's worker with that directory on its PYTHONPATH and as its working directory
 * (awslabs/multi-model-server v1.1.1 frontend/server/src/main/java/com/amazonaws/ml/mms/wlm/
 * WorkerLifeCycle.java:65-75,160), ahead of site-packages, where start-up installed the image's
 * global entry point (aws/sagemaker-containers v2.8.6.post2 src/sagemaker_containers/_modules.py:104-120,
 * 256). The worker imports SAGEMAKER_PROGRAM by name (aws/sagemaker-inference-toolkit v1.2.0
 * src/sagemaker_inference/transformer.py:165-167), so the root `inference.py` is the one it gets,
 * and a `code/` folder inside the archive would never be imported. For the same reason any other
 * Python file in the archive could shadow a module of the container: it is refused.
 *
 * Same input, same bytes: entries sorted by name, fixed timestamps, modes and owners, no gzip time.
 * Unchanged code then has an unchanged hash, and a promotion copies bytes that can be checked.
 * Everything is validated and built in memory first: a bad input writes nothing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync, zipSync, type Zippable } from 'fflate';
import {
  type ArtifactKind,
  artifactFileName,
  artifactNameProblem,
  shaProblem,
} from '../../lambda/shared/grammar';
import { bundle, BundleError, discoverEntryPoints } from './bundler';

/**
 * 1980-01-01 00:00:00 in local time: zip stores local DOS time, so a local date gives the same bytes
 * in every time zone (and 1980 is the earliest time zip can hold).
 */
const ZIP_MTIME = new Date(1980, 0, 1, 0, 0, 0);
/** The same instant as seconds for tar (tar stores UTC seconds). */
const TAR_MTIME = Date.UTC(1980, 0, 1) / 1000;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/** Machine litter that must never change an artifact's bytes. */
const IGNORED = (name: string) => name.startsWith('.') || name === '__pycache__' || name.endsWith('.pyc');

export const MANIFEST_FILE = 'manifest.json';

/** Where a model keeps its entry point in the repository: `models/<name>/code/inference.py`. */
export const MODEL_CODE_DIR = 'code';
/** The entry point's file, in `code/` in the repository and at the root of the archive. */
export const MODEL_ENTRY_POINT = 'inference.py';

export interface ManifestEntry {
  readonly kind: ArtifactKind;
  readonly name: string;
  /** File name inside the output folder, `<name>-<sha>.zip` or `<name>-<sha>.tar.gz`. */
  readonly file: string;
  readonly bytes: number;
  /** Hex SHA-256 of the file. */
  readonly sha256: string;
}

export interface Manifest {
  readonly sha: string;
  readonly artifacts: readonly ManifestEntry[];
}

export interface PackageOptions {
  /** Repository root: services are `<root>/lambda/<name>/handler.ts`, models `<root>/models/<name>/`. */
  readonly root: string;
  /** Full commit id (40 lowercase hex characters). */
  readonly sha: string;
  /** Output folder; created if missing. Files of other runs in it are left alone. */
  readonly out: string;
  /** The deployable services (the entries of `SERVICES` in lambda/services.ts). */
  readonly services: readonly string[];
  /**
   * Models to package.
   * @default every directory under `<root>/models/` (none if there is no such folder)
   */
  readonly models?: readonly string[];
}

export class PackagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackagingError';
  }
}

/** Model directories under `modelsRoot`, sorted; files there (a README) are not models. */
export function discoverModels(modelsRoot: string): string[] {
  if (!fs.existsSync(modelsRoot)) return [];
  return fs
    .readdirSync(modelsRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !IGNORED(d.name))
    .map((d) => d.name)
    .sort();
}

/** A deterministic zip of a bundle: sorted entries, fixed time, Unix mode 0644. */
export function zipFiles(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const entries: Zippable = {};
  for (const name of [...files.keys()].sort()) {
    // os 3 = Unix, so unzip (and Lambda) read the mode from the high bits of the attributes.
    entries[name] = [
      files.get(name)!,
      { mtime: ZIP_MTIME, os: 3, attrs: ((0o100000 | FILE_MODE) << 16) >>> 0 },
    ];
  }
  return zipSync(entries, { level: 9, mtime: ZIP_MTIME });
}

export interface TreeEntry {
  /** Path inside the archive, `/`-separated; directories end in `/`. */
  readonly name: string;
  readonly data?: Uint8Array;
}

/** Files and folders under `dir`, sorted, litter skipped. Symlinks and specials are refused. */
function readTree(dir: string, prefix = ''): TreeEntry[] {
  const entries: TreeEntry[] = [];
  const names = fs
    .readdirSync(dir)
    .filter((n) => !IGNORED(n))
    .sort();
  for (const name of names) {
    const full = path.join(dir, name);
    const stat = fs.lstatSync(full);
    if (stat.isDirectory()) {
      entries.push({ name: `${prefix}${name}/` }, ...readTree(full, `${prefix}${name}/`));
    } else if (stat.isFile()) {
      entries.push({ name: `${prefix}${name}`, data: fs.readFileSync(full) });
    } else {
      throw new PackagingError(
        `${full} is not a regular file or folder (a symlink?); models must hold plain files only`,
      );
    }
  }
  return entries;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header with fixed owner, time and mode. */
function tarHeader(name: string, size: number, directory: boolean): Uint8Array {
  const header = Buffer.alloc(512);
  let base = name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a `/` into prefix (155 bytes) and name (100 bytes).
    const trimmed = directory ? name.slice(0, -1) : name;
    const cut = trimmed.lastIndexOf('/', 155);
    base = trimmed.slice(cut + 1) + (directory ? '/' : '');
    prefix = trimmed.slice(0, cut);
    if (cut <= 0 || Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new PackagingError(`path "${name}" is too long for a tar archive; shorten it`);
    }
  }
  header.write(base, 0, 100, 'utf8');
  header.write(octal(directory ? DIR_MODE : FILE_MODE, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii'); // uid
  header.write(octal(0, 8), 116, 'ascii'); // gid
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(TAR_MTIME, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii'); // checksum is computed with this field as spaces
  header.write(directory ? '5' : '0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write(octal(0, 8), 329, 'ascii');
  header.write(octal(0, 8), 337, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A deterministic `.tar.gz` of a folder: sorted, fixed time/owner/mode, gzip header without time. */
export function tarGzDirectory(dir: string): Uint8Array {
  return tarGz(readTree(dir));
}

/** The top-level name of an archive path (`a` for `a/`, `a/b` and `a`). */
const topName = (name: string) => name.split('/')[0]!;

/**
 * The entries of a model's archive (see the top of this file): the model folder without `code/`,
 * plus `code/inference.py` at the root, in the order {@link readTree} gives a folder.
 */
export function modelArchiveEntries(dir: string): TreeEntry[] {
  const entries = readTree(dir).filter((e) => topName(e.name) !== MODEL_CODE_DIR);
  const entryPoint: TreeEntry = {
    name: MODEL_ENTRY_POINT,
    data: fs.readFileSync(path.join(dir, MODEL_CODE_DIR, MODEL_ENTRY_POINT)),
  };
  const at = entries.findIndex((e) => topName(e.name) > MODEL_ENTRY_POINT);
  entries.splice(at === -1 ? entries.length : at, 0, entryPoint);
  return entries;
}

/** A deterministic `.tar.gz` of a model folder, laid out for the endpoint's container. */
export function tarGzModel(dir: string): Uint8Array {
  return tarGz(modelArchiveEntries(dir));
}

function tarGz(tree: readonly TreeEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const push = (c: Uint8Array) => {
    chunks.push(c);
    length += c.length;
  };
  for (const entry of tree) {
    const data = entry.data ?? new Uint8Array(0);
    push(tarHeader(entry.name, data.length, entry.data === undefined));
    push(data);
    if (data.length % 512 !== 0) push(new Uint8Array(512 - (data.length % 512)));
  }
  push(new Uint8Array(1024)); // end of archive: two zero blocks
  if (length % 10240 !== 0) push(new Uint8Array(10240 - (length % 10240))); // whole records, like tar(1)
  const tar = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    tar.set(c, at);
    at += c.length;
  }
  // fflate is pure JavaScript: the same bytes on every platform and zlib version; mtime 0 = no time.
  return gzipSync(tar, { level: 9, mtime: 0 });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Why `models/<name>/` (its `tree`) cannot become an archive the endpoint serves; empty when it can. */
function modelLayoutProblems(name: string, tree: readonly TreeEntry[]): string[] {
  const where = `models/${name}/`;
  if (tree.every((e) => e.data === undefined)) return [`model folder ${where} holds no files`];
  const found: string[] = [];
  const codePrefix = `${MODEL_CODE_DIR}/`;
  const entryPoint = `${codePrefix}${MODEL_ENTRY_POINT}`;
  if (!tree.some((e) => e.name === entryPoint && e.data !== undefined)) {
    found.push(
      `model "${name}" has no ${where}${entryPoint}; add it (model_fn, input_fn, predict_fn, output_fn): without it the endpoint answers every request for the model with an error (models/README.md)`,
    );
  }
  const strayCode = tree.filter(
    (e) => e.data !== undefined && e.name.startsWith(codePrefix) && e.name !== entryPoint,
  );
  if (strayCode.length > 0) {
    found.push(
      `${where}${codePrefix} must hold ${MODEL_ENTRY_POINT} alone (found ${strayCode.map((e) => e.name).join(', ')}): only it goes into the archive, at its root`,
    );
  }
  const python = tree.filter(
    (e) => !e.name.startsWith(codePrefix) && e.data !== undefined && /\.py[cdiow]?$/.test(e.name),
  );
  if (python.length > 0) {
    found.push(
      `${where} holds Python outside ${codePrefix} (${python.map((e) => e.name).join(', ')}): a module in the archive is importable by the model's worker ahead of the container's own and could shadow them; put the code in ${where}${entryPoint}`,
    );
  }
  return found;
}

/** Why the inputs cannot be packaged (empty when they can). Reads, never writes. */
function problems(
  options: PackageOptions,
  models: readonly string[],
  entries: Record<string, string>,
): string[] {
  const found: string[] = [];
  const sha = shaProblem(options.sha);
  if (sha) found.push(`${sha}; pass the full id, e.g. --sha "$(git rev-parse HEAD)"`);
  for (const name of options.services) {
    const p = artifactNameProblem(name);
    if (p) found.push(`service ${p}; rename lambda/${name}/ and its entry in lambda/services.ts`);
    else if (!entries[name])
      found.push(`service "${name}" has no lambda/${name}/handler.ts; add it or remove the service`);
  }
  for (const name of models) {
    const p = artifactNameProblem(name);
    const dir = path.join(options.root, 'models', name);
    if (p) found.push(`model ${p}; rename the folder models/${name}/`);
    else if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
      found.push(`model "${name}" has no folder models/${name}/`);
    else found.push(...modelLayoutProblems(name, readTree(dir)));
  }
  const all = [...options.services, ...models];
  const duplicates = all.filter((n, i) => all.indexOf(n) !== i);
  if (duplicates.length > 0)
    found.push(`names must be unique across services and models: ${[...new Set(duplicates)].join(', ')}`);
  return found;
}

/**
 * Packages every service and model for commit `sha` into `out`, with a manifest. Throws
 * {@link PackagingError} listing every problem before anything is written.
 */
export function packageArtifacts(options: PackageOptions): Manifest {
  const lambdaRoot = path.join(options.root, 'lambda');
  const entries = fs.existsSync(lambdaRoot) ? discoverEntryPoints(lambdaRoot) : {};
  const models = [...(options.models ?? discoverModels(path.join(options.root, 'models')))].sort();
  const services = [...options.services].sort();
  const found = problems(options, models, entries);
  if (found.length > 0) {
    throw new PackagingError(`Nothing was packaged:\n${found.map((p) => `  - ${p}`).join('\n')}`);
  }

  const artifacts: { entry: ManifestEntry; bytes: Uint8Array }[] = [];
  const add = (kind: ArtifactKind, name: string, bytes: Uint8Array) => {
    const file = artifactFileName(kind, name, options.sha);
    artifacts.push({ entry: { kind, name, file, bytes: bytes.length, sha256: sha256(bytes) }, bytes });
  };
  let bundles;
  try {
    bundles = bundle(services, entries, { root: options.root });
  } catch (e) {
    if (e instanceof BundleError) throw new PackagingError(`Nothing was packaged: ${e.message}`);
    throw e;
  }
  for (const name of services) add('service', name, zipFiles(bundles.get(name)!.files));
  for (const name of models) add('model', name, tarGzModel(path.join(options.root, 'models', name)));

  const manifest: Manifest = { sha: options.sha, artifacts: artifacts.map((a) => a.entry) };
  fs.mkdirSync(options.out, { recursive: true });
  for (const { entry, bytes } of artifacts) fs.writeFileSync(path.join(options.out, entry.file), bytes);
  // The manifest last: its presence means every artifact it lists is complete.
  fs.writeFileSync(path.join(options.out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
