/**
 * The build's packaging step (`npm run package`, docs/design.md "Accounts and flow"): every
 * microservice becomes `<name>-<sha>.zip` (the same bundle CDK deploys, from the same bundler) and
 * every model directory `models/<name>/` becomes `<name>-<sha>.tar.gz`, plus `manifest.json`.
 *
 * A model is a folder of code (models/README.md "Adding a model"): packaging TRAINS it, running
 * `python3 train.py --data data --out <temp>` in the model's folder, and the archive is what
 * lambda/shared/model-archive.ts assembles from it: quality.json and metrics.json first, then
 * code/inference.py as `inference.py`, train.py, and whatever training wrote, all at the root. A
 * model below its quality bar is refused, naming the metric, its value and the threshold; then the
 * archive's own entry point answers the bar's validation rows (lib/bundling/model_check.py, the
 * container's call sequence) and every answer must be within the tolerance. So a model that is not
 * good enough, or does not answer what its rows say, fails the build before anything is published.
 *
 * Why the entry point sits at the root: SageMaker extracts the archive into the model's directory,
 * and MMS starts the model's worker with that directory on its PYTHONPATH and as its working
 * directory (awslabs/multi-model-server v1.1.1 frontend/server/src/main/java/com/amazonaws/ml/mms/wlm/
 * WorkerLifeCycle.java:65-75,160), ahead of site-packages, where start-up installed the image's
 * global entry point (aws/sagemaker-containers v2.8.6.post2 src/sagemaker_containers/_modules.py:104-120,
 * 256). The worker imports SAGEMAKER_PROGRAM by name (aws/sagemaker-inference-toolkit v1.2.0
 * src/sagemaker_inference/transformer.py:165-167), so the root `inference.py` is the one it gets. For
 * the same reason no other Python goes into the archive but train.py (no module of the container
 * or the standard library is called `train`).
 *
 * Same input, same bytes: entries sorted by name, fixed timestamps, modes and owners, no gzip time,
 * and training is deterministic (fixed seeds, rounded numbers). Unchanged code then has an unchanged
 * hash, and a promotion copies bytes that can be checked. Everything is validated, trained and
 * built in a temporary folder and in memory first: a bad input writes nothing to `out`.
 */
import { makeSbom, sbomFileName } from './sbom';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import {
  type ArtifactKind,
  artifactFileName,
  artifactNameProblem,
  shaProblem,
} from '../../lambda/shared/grammar';
import {
  assembleModelArchive,
  describeMismatch,
  firstRowMismatch,
  MAX_MODEL_ARCHIVE_BYTES,
  MODEL_ARCHIVE_FILES,
  ModelArchiveError,
  parseQuality,
  type TreeEntry,
  validationRequest,
} from '../../lambda/shared/model-archive';
import { bundle, BundleError, discoverEntryPoints } from './bundler';

/**
 * 1980-01-01 00:00:00 in local time: zip stores local DOS time, so a local date gives the same bytes
 * in every time zone (and 1980 is the earliest time zip can hold).
 */
const ZIP_MTIME = new Date(1980, 0, 1, 0, 0, 0);
const FILE_MODE = 0o644;
/** Machine litter that must never change an artifact's bytes. */
const IGNORED = (name: string) => name.startsWith('.') || name === '__pycache__' || name.endsWith('.pyc');

export const MANIFEST_FILE = 'manifest.json';

/** Where a model keeps its entry point in the repository: `models/<name>/code/inference.py`. */
export const MODEL_CODE_DIR = 'code';
/** The entry point's file, in `code/` in the repository and at the root of the archive. */
export const MODEL_ENTRY_POINT = MODEL_ARCHIVE_FILES.entryPoint;
/** The model's training data in the repository: CSV files in `models/<name>/data/`. */
export const MODEL_DATA_DIR = 'data';

/** The build's check of a model's answers (see the top of this file). */
const MODEL_CHECK = path.join(__dirname, 'model_check.py');
/** How long one model may train in the build. */
const TRAINING_TIMEOUT_MS = 10 * 60 * 1000;

export interface ManifestEntry {
  readonly kind: ArtifactKind;
  readonly name: string;
  /** File name inside the output folder, `<name>-<sha>.zip` or `<name>-<sha>.tar.gz`. */
  readonly file: string;
  readonly bytes: number;
  /** Hex SHA-256 of the file. */
  readonly sha256: string;
  /** A model's held-out metrics (its metrics.json), which passed its bar. */
  readonly metrics?: Readonly<Record<string, number>>;
}

export interface Manifest {
  readonly sha: string;
  readonly artifacts: readonly ManifestEntry[];
  /** The release's software bill of materials (lib/bundling/sbom.ts), when it was asked for. */
  readonly sbom?: { readonly file: string; readonly bytes: number; readonly sha256: string };
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
  /**
   * The largest model archive accepted.
   * @default MAX_MODEL_ARCHIVE_BYTES (5 GiB, one S3 copy)
   */
  readonly maxModelBytes?: number;
  /** @default `python3` */
  readonly python?: string;
  /**
   * Also write the release's SBOM (`sbom-<sha>.cdx.json`, CycloneDX from `npm sbom`) and list it in the
   * manifest. The build does (scripts/package.ts); tests of packaging alone need not.
   * @default false
   */
  readonly sbom?: boolean;
  /** Told each model's training time and metrics (the CLI prints them; the manifest holds no times). */
  readonly onTrained?: (model: string, trainingMs: number, metrics: Readonly<Record<string, number>>) => void;
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

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Why `models/<name>/` (its `tree`) cannot be trained and packaged; empty when it can. */
function modelLayoutProblems(name: string, tree: readonly TreeEntry[]): string[] {
  const where = `models/${name}/`;
  if (tree.every((e) => e.data === undefined)) return [`model folder ${where} holds no files`];
  const found: string[] = [];
  const has = (file: string) => tree.some((e) => e.name === file && e.data !== undefined);
  const codePrefix = `${MODEL_CODE_DIR}/`;
  const entryPoint = `${codePrefix}${MODEL_ENTRY_POINT}`;
  if (!has(entryPoint)) {
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
  if (!has(MODEL_ARCHIVE_FILES.training)) {
    found.push(
      `model "${name}" has no ${where}${MODEL_ARCHIVE_FILES.training}; add the training code (\`python3 train.py --data <dir> --out <dir>\` writes the model and metrics.json, models/README.md)`,
    );
  }
  if (!has(MODEL_ARCHIVE_FILES.quality)) {
    found.push(
      `model "${name}" has no ${where}${MODEL_ARCHIVE_FILES.quality}; declare its quality bar (metrics with min/max, validation rows and a tolerance, models/README.md)`,
    );
  } else {
    const text = Buffer.from(tree.find((e) => e.name === MODEL_ARCHIVE_FILES.quality)!.data!).toString(
      'utf8',
    );
    try {
      parseQuality(text, `${where}${MODEL_ARCHIVE_FILES.quality}`);
    } catch (e) {
      if (!(e instanceof ModelArchiveError)) throw e;
      found.push(`model "${name}": ${e.message}`);
    }
  }
  const data = tree.filter((e) => e.data !== undefined && e.name.startsWith(`${MODEL_DATA_DIR}/`));
  if (!data.some((e) => e.name.endsWith('.csv'))) {
    found.push(
      `model "${name}" has no training data: put CSV files in ${where}${MODEL_DATA_DIR}/ (a small data set ships with the code; retraining uses the environment's, models/README.md)`,
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

/** The last lines of a process's output, for a message. */
const tail = (text: string, lines = 8) => text.trim().split('\n').slice(-lines).join('\n    ');

function runPython(python: string, args: readonly string[], cwd: string, input?: string) {
  // -B: nothing of the run lands in the repository (no __pycache__); -E: no PYTHON* variable of the
  // machine (a PYTHONPATH, say) changes what trains, so every machine runs the same code.
  const run = spawnSync(python, ['-B', '-E', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    timeout: TRAINING_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PackagingError(
      missing
        ? `Nothing was packaged: ${python} is needed to train the models and was not found; install Python 3`
        : `Nothing was packaged: ${python} ${args.join(' ')} failed: ${run.error.message}`,
    );
  }
  return run;
}

interface TrainedModel {
  readonly bytes: Uint8Array;
  readonly metrics: Record<string, number>;
  readonly trainingMs: number;
}

/**
 * Trains `models/<name>/` in a temporary folder and assembles its archive; a problem (training
 * failed, below the bar, answers off its rows) comes back as a message naming the model and what
 * to fix, and nothing of the run is kept.
 */
function trainModel(options: PackageOptions, name: string): TrainedModel | string {
  const dir = path.join(options.root, 'models', name);
  const python = options.python ?? 'python3';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `biomes-train-${name}-`));
  try {
    const out = path.join(work, 'out');
    const started = Date.now();
    const training = runPython(
      python,
      [path.join(dir, MODEL_ARCHIVE_FILES.training), '--data', path.join(dir, MODEL_DATA_DIR), '--out', out],
      work,
    );
    const trainingMs = Date.now() - started;
    if (training.status !== 0) {
      return `model "${name}": training failed (models/${name}/${MODEL_ARCHIVE_FILES.training} exited ${training.status ?? training.signal}):\n    ${tail(training.stderr || training.stdout) || '(no output)'}`;
    }
    if (!fs.existsSync(out))
      return `model "${name}": training wrote nothing to --out; train.py must write the model and metrics.json there`;
    let archive;
    try {
      archive = assembleModelArchive(name, {
        entryPoint: fs.readFileSync(path.join(dir, MODEL_CODE_DIR, MODEL_ENTRY_POINT)),
        training: fs.readFileSync(path.join(dir, MODEL_ARCHIVE_FILES.training)),
        quality: fs.readFileSync(path.join(dir, MODEL_ARCHIVE_FILES.quality), 'utf8'),
        outputs: readTree(out),
        maxBytes: options.maxModelBytes ?? MAX_MODEL_ARCHIVE_BYTES,
      });
    } catch (e) {
      if (e instanceof ModelArchiveError) return e.message;
      throw e;
    }
    // The archive's content as SageMaker extracts it, answering the rows as the endpoint would.
    const extracted = path.join(work, 'model');
    for (const entry of archive.entries) {
      const target = path.join(extracted, entry.name);
      if (entry.data === undefined) fs.mkdirSync(target, { recursive: true });
      else {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, entry.data);
      }
    }
    const check = runPython(python, [MODEL_CHECK, extracted], work, validationRequest(archive.quality));
    if (check.status !== 0) {
      return `model "${name}": its validation rows could not be run through code/inference.py:\n    ${tail(check.stderr)}`;
    }
    const answer = JSON.parse(check.stdout) as { status: number; body: string };
    const rows = `models/${name}/${MODEL_ARCHIVE_FILES.quality}`;
    if (answer.status !== 200) {
      return `model "${name}": code/inference.py answered the validation rows of ${rows} with HTTP ${answer.status}: ${answer.body.trim()}; make each row's instance what the model takes (its features) or fix the entry point`;
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return `model "${name}": code/inference.py answered the validation rows with a body that is not JSON: ${answer.body.slice(0, 200)}`;
    }
    const mismatch = firstRowMismatch(archive.quality, body);
    if (mismatch) {
      return `model "${name}": ${describeMismatch(mismatch)}; the trained model does not answer what ${rows} expects (retrain, or correct the row)`;
    }
    return { bytes: archive.bytes, metrics: archive.metrics, trainingMs };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
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
  const add = (kind: ArtifactKind, name: string, bytes: Uint8Array, extra: Partial<ManifestEntry> = {}) => {
    const file = artifactFileName(kind, name, options.sha);
    artifacts.push({
      entry: { kind, name, file, bytes: bytes.length, sha256: sha256(bytes), ...extra },
      bytes,
    });
  };
  let bundles;
  try {
    bundles = bundle(services, entries, { root: options.root });
  } catch (e) {
    if (e instanceof BundleError) throw new PackagingError(`Nothing was packaged: ${e.message}`);
    throw e;
  }
  for (const name of services) add('service', name, zipFiles(bundles.get(name)!.files));
  const refused: string[] = [];
  for (const name of models) {
    const trained = trainModel(options, name);
    if (typeof trained === 'string') refused.push(trained);
    else {
      options.onTrained?.(name, trained.trainingMs, trained.metrics);
      add('model', name, trained.bytes, { metrics: trained.metrics });
    }
  }
  if (refused.length > 0) {
    throw new PackagingError(`Nothing was packaged:\n${refused.map((p) => `  - ${p}`).join('\n')}`);
  }

  let sbom: { file: string; bytes: Uint8Array } | undefined;
  if (options.sbom) {
    try {
      sbom = { file: sbomFileName(options.sha), bytes: makeSbom(options.root, options.sha) };
    } catch (e) {
      throw new PackagingError(`Nothing was packaged: ${(e as Error).message}`);
    }
  }
  const manifest: Manifest = {
    sha: options.sha,
    artifacts: artifacts.map((a) => a.entry),
    ...(sbom ? { sbom: { file: sbom.file, bytes: sbom.bytes.length, sha256: sha256(sbom.bytes) } } : {}),
  };
  fs.mkdirSync(options.out, { recursive: true });
  for (const { entry, bytes } of artifacts) fs.writeFileSync(path.join(options.out, entry.file), bytes);
  if (sbom) fs.writeFileSync(path.join(options.out, sbom.file), sbom.bytes);
  // The manifest last: its presence means every artifact it lists is complete.
  fs.writeFileSync(path.join(options.out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
