/**
 * What a model archive `<name>-<sha>.tar.gz` holds and how its quality is judged: one module for the
 * build (`npm run package`, lib/bundling/package.ts), the deploy trigger's validation on the endpoint
 * (lambda/deploy-trigger/model.ts) and the retraining workflow, so the three cannot disagree.
 * Pure: node:crypto, fflate and zod only, no AWS or CDK imports (it is bundled into Lambda functions).
 *
 * The archive (models/README.md "Layout"), every file at its root:
 * - `inference.py`: the entry point the endpoint's container imports (from `models/<name>/code/`);
 * - `train.py`: the training code, so the archive carries the code that made it (retraining runs it);
 * - `quality.json`: the quality bar, {@link Quality} (from `models/<name>/quality.json`);
 * - `metrics.json`: what training measured on its held-out split, `{ "<metric>": <number> }`;
 * - whatever else training wrote (the model's own files, `model.json` for demo-scorer).
 *
 * Same input, same bytes: entries sorted by name, fixed timestamps, modes and owners, no gzip time.
 */
import { createHash } from 'node:crypto';
import { Gunzip, gzipSync } from 'fflate';
import * as z from 'zod/mini';
import { issueLines } from './issues';

/** The archive's fixed files (see the top of this file). */
export const MODEL_ARCHIVE_FILES = {
  entryPoint: 'inference.py',
  training: 'train.py',
  quality: 'quality.json',
  metrics: 'metrics.json',
} as const;

/**
 * The largest model archive Biomes moves: a single S3 CopyObject copies at most 5 GiB (the deploy
 * trigger copies each model once, never by multipart), so packaging refuses a bigger one before
 * anything is published.
 */
export const MAX_MODEL_ARCHIVE_BYTES = 5 * 1024 * 1024 * 1024;

const finite = z.number().check(z.refine((n) => Number.isFinite(n), { error: 'must be a finite number' }));

const boundSchema = z.strictObject({ min: z.optional(finite), max: z.optional(finite) }).check(
  z.refine((b) => b.min !== undefined || b.max !== undefined, {
    error: 'give "min", "max" or both',
  }),
);

const rowSchema = z.strictObject({
  /** One instance as the model's request takes it (an element of `instances`). */
  instance: z.unknown(),
  /** The prediction the model must answer for it (an element of `predictions`). */
  expected: z.unknown(),
});

/** `quality.json`: the bar a model must pass before it is published, and again before it goes live. */
export const qualitySchema = z.strictObject({
  /** Metric name to its bound on the held-out split (`min` for a score, `max` for a loss). */
  metrics: z
    .record(z.string(), boundSchema)
    .check(z.refine((m) => Object.keys(m).length > 0, { error: 'name at least one metric and its bound' })),
  validation: z.strictObject({
    /** Largest absolute difference allowed between an expected and an answered number. */
    tolerance: finite.check(z.refine((t) => t >= 0, { error: 'must be 0 or more' })),
    rows: z.array(rowSchema).check(z.minLength(1, { error: 'give at least one validation row' })),
  }),
});
export type Quality = z.infer<typeof qualitySchema>;
export type ValidationRow = Quality['validation']['rows'][number];

export class ModelArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelArchiveError';
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelArchiveError(`${where} is not JSON (${(e as Error).message})`);
  }
}

/** Parses a `quality.json`; `where` names it in the message (`models/<name>/quality.json`). */
export function parseQuality(text: string, where: string): Quality {
  const parsed = qualitySchema.safeParse(parseJson(text, where));
  if (!parsed.success) {
    throw new ModelArchiveError(`${where} is not a quality bar: ${issueLines(parsed.error).join('; ')}`);
  }
  return parsed.data;
}

/** Parses a `metrics.json`: an object of metric names to finite numbers. */
export function parseMetrics(text: string, where: string): Record<string, number> {
  const parsed = z.record(z.string(), finite).safeParse(parseJson(text, where));
  if (!parsed.success) {
    throw new ModelArchiveError(
      `${where} must map metric names to numbers: ${issueLines(parsed.error).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Why `metrics` miss the bar of `quality` (empty when they pass), each naming the model, the metric,
 * its value and the threshold; a metric the bar names but training did not produce is one too.
 */
export function barProblems(
  model: string,
  quality: Quality,
  metrics: Readonly<Record<string, number>>,
): string[] {
  const found: string[] = [];
  for (const [metric, bound] of Object.entries(quality.metrics).sort(([a], [b]) => a.localeCompare(b))) {
    const value = metrics[metric];
    if (value === undefined) {
      found.push(
        `model "${model}": quality.json names metric "${metric}" but training produced none (metrics.json has ${Object.keys(metrics).sort().join(', ') || 'nothing'}); write it from train.py or remove it from the bar`,
      );
      continue;
    }
    if (bound.min !== undefined && value < bound.min) {
      found.push(`model "${model}": ${metric} is ${value}, below its bar of ${bound.min} (min)`);
    }
    if (bound.max !== undefined && value > bound.max) {
      found.push(`model "${model}": ${metric} is ${value}, above its bar of ${bound.max} (max)`);
    }
  }
  return found;
}

/** JSON of a value for a message, cut to `max` characters. */
export function shown(value: unknown, max = 200): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Where `got` differs from `expected` (undefined when it matches): numbers within `tolerance`
 * (absolute), everything else equal, objects with the same keys, arrays of the same length. The
 * answer names the first difference by its path (`score`, `[0].label`).
 */
export function answerMismatch(
  expected: unknown,
  got: unknown,
  tolerance: number,
  at = '',
): string | undefined {
  const where = at || 'the answer';
  if (typeof expected === 'number') {
    if (typeof got !== 'number') return `${where}: expected the number ${expected}, got ${shown(got)}`;
    return Math.abs(got - expected) <= tolerance
      ? undefined
      : `${where}: expected ${expected} ± ${tolerance}, got ${got}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(got)) return `${where}: expected an array, got ${shown(got)}`;
    if (got.length !== expected.length)
      return `${where}: expected ${expected.length} element(s), got ${got.length}`;
    for (let i = 0; i < expected.length; i++) {
      const m = answerMismatch(expected[i], got[i], tolerance, `${at}[${i}]`);
      if (m) return m;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got))
      return `${where}: expected an object, got ${shown(got)}`;
    const e = expected as Record<string, unknown>;
    const g = got as Record<string, unknown>;
    const keys = Object.keys(e).sort();
    const extra = Object.keys(g).filter((k) => !(k in e));
    if (extra.length > 0) return `${where}: unexpected key(s) ${extra.sort().join(', ')}`;
    for (const key of keys) {
      if (!(key in g)) return `${at ? `${at}.` : ''}${key}: missing from the answer`;
      const m = answerMismatch(e[key], g[key], tolerance, at ? `${at}.${key}` : key);
      if (m) return m;
    }
    return undefined;
  }
  return Object.is(expected, got) ? undefined : `${where}: expected ${shown(expected)}, got ${shown(got)}`;
}

/** The first validation row the model answered wrongly, with its input, the expected and the answer. */
export interface RowMismatch {
  readonly row: number;
  readonly instance: unknown;
  readonly expected: unknown;
  readonly got: unknown;
  readonly detail: string;
}

/**
 * Compares a model's answer to `{"instances": <every row's instance>}` (`{"predictions": [...]}`, the
 * contract of models/README.md) with the rows. Returns the first mismatch, or undefined when every
 * prediction is within tolerance.
 */
export function firstRowMismatch(quality: Quality, answer: unknown): RowMismatch | undefined {
  const rows = quality.validation.rows;
  const predictions =
    answer !== null &&
    typeof answer === 'object' &&
    Array.isArray((answer as { predictions?: unknown }).predictions)
      ? (answer as { predictions: unknown[] }).predictions
      : undefined;
  if (!predictions || predictions.length !== rows.length) {
    return {
      row: 0,
      instance: rows[0]!.instance,
      expected: rows[0]!.expected,
      got: answer,
      detail: `expected {"predictions": [...]} with ${rows.length} prediction(s), got ${shown(answer)}`,
    };
  }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const detail = answerMismatch(row.expected, predictions[i], quality.validation.tolerance);
    if (detail)
      return { row: i, instance: row.instance, expected: row.expected, got: predictions[i], detail };
  }
  return undefined;
}

/** The request that validates a model: every row's instance, in order, in one request. */
export function validationRequest(quality: Quality): string {
  return JSON.stringify({ instances: quality.validation.rows.map((r) => r.instance) });
}

/** One sentence for a mismatch: which row, its input, what was expected and what came back. */
export function describeMismatch(m: RowMismatch): string {
  return `validation row ${m.row}: input ${shown(m.instance)}, expected ${shown(m.expected)}, got ${shown(m.got)} (${m.detail})`;
}

// ---- the archive's bytes ---------------------------------------------------------------------------

/** 1980-01-01 00:00:00 UTC as seconds: the earliest time zip can hold, used for tar too. */
const TAR_MTIME = Date.UTC(1980, 0, 1) / 1000;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

export interface TreeEntry {
  /** Path inside the archive, `/`-separated; directories end in `/`. */
  readonly name: string;
  readonly data?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const byteLength = (s: string) => encoder.encode(s).length;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function write(header: Uint8Array, text: string, at: number, max: number): void {
  header.set(encoder.encode(text).subarray(0, max), at);
}

/** One 512-byte ustar header with fixed owner, time and mode. */
function tarHeader(name: string, size: number, directory: boolean): Uint8Array {
  const header = new Uint8Array(512);
  let base = name;
  let prefix = '';
  if (byteLength(name) > 100) {
    // ustar splits long paths at a `/` into prefix (155 bytes) and name (100 bytes).
    const trimmed = directory ? name.slice(0, -1) : name;
    const cut = trimmed.lastIndexOf('/', 155);
    base = trimmed.slice(cut + 1) + (directory ? '/' : '');
    prefix = trimmed.slice(0, cut);
    if (cut <= 0 || byteLength(base) > 100 || byteLength(prefix) > 155) {
      throw new ModelArchiveError(`path "${name}" is too long for a tar archive; shorten it`);
    }
  }
  write(header, base, 0, 100);
  write(header, octal(directory ? DIR_MODE : FILE_MODE, 8), 100, 8);
  write(header, octal(0, 8), 108, 8); // uid
  write(header, octal(0, 8), 116, 8); // gid
  write(header, octal(size, 12), 124, 12);
  write(header, octal(TAR_MTIME, 12), 136, 12);
  write(header, '        ', 148, 8); // checksum is computed with this field as spaces
  write(header, directory ? '5' : '0', 156, 1);
  write(header, 'ustar\0', 257, 6);
  write(header, '00', 263, 2);
  write(header, octal(0, 8), 329, 8);
  write(header, octal(0, 8), 337, 8);
  write(header, prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  write(header, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return header;
}

/** A deterministic `.tar.gz` of `tree`, in the order given (callers sort it). */
export function tarGz(tree: readonly TreeEntry[]): Uint8Array {
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

function field(block: Uint8Array, at: number, length: number): string {
  const bytes = block.subarray(at, at + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

export interface ReadOptions {
  /**
   * The bytes are the start of an archive only (an S3 ranged GET): entries cut off at the end are
   * left out instead of refused. The fixed files come first in every archive Biomes writes, so the
   * first {@link HEAD_BYTES} hold them.
   */
  readonly partial?: boolean;
  /** Reads at most this many uncompressed bytes: a gzip bomb is refused, not expanded. */
  readonly maxBytes?: number;
}

/** How much of an archive holds its fixed files (see {@link assembleModelArchive} for the order). */
export const HEAD_BYTES = 1024 * 1024;

function gunzip(bytes: Uint8Array, options: ReadOptions): Uint8Array {
  const max = options.maxBytes ?? 64 * 1024 * 1024;
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    const stream = new Gunzip((chunk) => {
      length += chunk.length;
      if (length > max) throw new ModelArchiveError(`the archive expands to more than ${max} bytes`);
      chunks.push(chunk);
    });
    stream.push(bytes, !options.partial);
  } catch (e) {
    if (e instanceof ModelArchiveError) throw e;
    throw new ModelArchiveError(`not a gzip archive (${(e as Error).message})`);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The regular files of a `.tar.gz` (ustar or GNU long names), by path. Throws
 * {@link ModelArchiveError} for bytes that are not a gzip'd tar, a truncated archive (unless
 * `partial`) or a bad checksum, so a corrupt archive is named as such rather than failing later.
 */
export function readTarGz(bytes: Uint8Array, options: ReadOptions = {}): Map<string, Uint8Array> {
  const tar = gunzip(bytes, options);
  const files = new Map<string, Uint8Array>();
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= tar.length) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) return files;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
    const stored = parseInt(field(block, 148, 8).trim(), 8);
    if (stored !== sum) throw new ModelArchiveError(`tar header at byte ${at} has a bad checksum`);
    const size = parseInt(field(block, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(block[156]!);
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    longName = undefined;
    const start = at + 512;
    if (start + size > tar.length) {
      if (options.partial) return files;
      throw new ModelArchiveError(`tar entry ${name} is truncated`);
    }
    const data = tar.subarray(start, start + size);
    if (type === 'L') longName = field(data, 0, data.length);
    else if (type === '0' || type === '\0') files.set(name.replace(/^\.\//, ''), data);
    at = start + Math.ceil(size / 512) * 512;
  }
  if (options.partial) return files;
  throw new ModelArchiveError('the tar archive ends without its end-of-archive blocks (truncated?)');
}

/** The quality bar and metrics an archive carries; throws {@link ModelArchiveError} naming what is missing. */
export function archiveQuality(
  files: ReadonlyMap<string, Uint8Array>,
  where: string,
): { quality: Quality; metrics: Record<string, number> } {
  const text = (file: string) => {
    const data = files.get(file);
    if (!data) {
      throw new ModelArchiveError(
        `${where} has no ${file} at its root; package the model with \`npm run package\`, which writes it`,
      );
    }
    return decoder.decode(data);
  };
  return {
    quality: parseQuality(text(MODEL_ARCHIVE_FILES.quality), `${where} ${MODEL_ARCHIVE_FILES.quality}`),
    metrics: parseMetrics(text(MODEL_ARCHIVE_FILES.metrics), `${where} ${MODEL_ARCHIVE_FILES.metrics}`),
  };
}

export interface ModelArchiveParts {
  /** `code/inference.py` of the model's folder. */
  readonly entryPoint: Uint8Array;
  /** `train.py` of the model's folder. */
  readonly training: Uint8Array;
  /** `quality.json` of the model's folder, as text. */
  readonly quality: string;
  /** What training wrote to its output folder (metrics.json and the model's files), any order. */
  readonly outputs: readonly TreeEntry[];
  /** @default MAX_MODEL_ARCHIVE_BYTES */
  readonly maxBytes?: number;
}

export interface ModelArchive {
  readonly bytes: Uint8Array;
  readonly entries: readonly TreeEntry[];
  readonly quality: Quality;
  readonly metrics: Record<string, number>;
}

/**
 * The archive of `model` from its code, its bar and what training wrote, or a
 * {@link ModelArchiveError} listing every reason it cannot be one (each naming the model and what
 * to fix): no metrics.json, a metric of the bar missing or below it, Python among the outputs (a
 * module there could shadow one of the container's), an output named like a fixed file, an archive
 * over the size limit. Entries: quality.json and metrics.json first, so the first {@link HEAD_BYTES}
 * of the archive hold them (the deploy trigger reads only those), then the rest by name.
 */
export function assembleModelArchive(model: string, parts: ModelArchiveParts): ModelArchive {
  const found: string[] = [];
  let quality: Quality | undefined;
  try {
    quality = parseQuality(parts.quality, `models/${model}/${MODEL_ARCHIVE_FILES.quality}`);
  } catch (e) {
    if (!(e instanceof ModelArchiveError)) throw e;
    found.push(e.message);
  }
  const fixed: readonly string[] = [
    MODEL_ARCHIVE_FILES.entryPoint,
    MODEL_ARCHIVE_FILES.training,
    MODEL_ARCHIVE_FILES.quality,
  ];
  const clash = parts.outputs.filter((e) => fixed.includes(e.name.replace(/\/$/, '')));
  if (clash.length > 0) {
    found.push(
      `model "${model}": training wrote ${clash.map((e) => e.name).join(', ')}, a name the archive keeps for its own files; write the model under another name`,
    );
  }
  const python = parts.outputs.filter((e) => e.data !== undefined && /\.py[cdiow]?$/.test(e.name));
  if (python.length > 0) {
    found.push(
      `model "${model}": training wrote Python (${python.map((e) => e.name).join(', ')}); a module in the archive is importable by the model's worker ahead of the container's own and could shadow them, so only code/inference.py and train.py go in`,
    );
  }
  const metricsEntry = parts.outputs.find((e) => e.name === MODEL_ARCHIVE_FILES.metrics && e.data);
  let metrics: Record<string, number> | undefined;
  if (!metricsEntry) {
    found.push(
      `model "${model}": training wrote no ${MODEL_ARCHIVE_FILES.metrics}; train.py must write the metrics of its held-out split there`,
    );
  } else {
    try {
      metrics = parseMetrics(
        decoder.decode(metricsEntry.data),
        `model "${model}": ${MODEL_ARCHIVE_FILES.metrics}`,
      );
    } catch (e) {
      if (!(e instanceof ModelArchiveError)) throw e;
      found.push(e.message);
    }
  }
  if (quality && metrics) found.push(...barProblems(model, quality, metrics));
  if (found.length > 0 || !quality || !metrics) throw new ModelArchiveError(found.join('\n'));

  const first = [MODEL_ARCHIVE_FILES.quality, MODEL_ARCHIVE_FILES.metrics] as const;
  const rest: TreeEntry[] = [
    { name: MODEL_ARCHIVE_FILES.entryPoint, data: parts.entryPoint },
    { name: MODEL_ARCHIVE_FILES.training, data: parts.training },
    ...parts.outputs.filter((e) => e.name !== MODEL_ARCHIVE_FILES.metrics),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const entries: TreeEntry[] = [
    { name: first[0], data: encoder.encode(parts.quality) },
    { name: first[1], data: metricsEntry!.data },
    ...rest,
  ];
  const bytes = tarGz(entries);
  const max = parts.maxBytes ?? MAX_MODEL_ARCHIVE_BYTES;
  if (bytes.length > max) {
    throw new ModelArchiveError(
      `model "${model}": its archive is ${bytes.length} bytes, over the limit of ${max} bytes (one S3 copy); make the model smaller`,
    );
  }
  return { bytes, entries, quality, metrics };
}

/**
 * The 40-hex id a retrained model is published under (`<name>-<id>.tar.gz`): SHA-1 of the commit of
 * its training code and the training job's name. A retrained model is a different model from the
 * one the build made at that commit, so it needs its own name under the biome's model prefix (model
 * objects are never overwritten, and the same name means the same model to the deploy trigger); its
 * `retrained-from` metadata names the commit.
 */
export function retrainingId(commit: string, trainingJob: string): string {
  return createHash('sha1').update(`biomes-retraining\n${commit}\n${trainingJob}`).digest('hex');
}
