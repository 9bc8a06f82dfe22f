/**
 * lambda/shared/model-archive.ts: the bar, the comparison of answers with validation rows, and the
 * archive's bytes (read back with node-tar, an implementation we did not write).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import {
  answerMismatch,
  archiveQuality,
  assembleModelArchive,
  barProblems,
  describeMismatch,
  firstRowMismatch,
  HEAD_BYTES,
  ModelArchiveError,
  parseQuality,
  readTarGz,
  retrainingId,
  tarGz,
  validationRequest,
} from '../../../lambda/shared/model-archive';

const text = (s: string) => new TextEncoder().encode(s);
const QUALITY = JSON.stringify({
  metrics: { accuracy: { min: 0.8 }, log_loss: { max: 0.5 } },
  validation: {
    tolerance: 0.02,
    rows: [
      { instance: [1, 2, 3], expected: { score: 0.9, label: 1 } },
      { instance: { a: 1 }, expected: { score: 0.1, label: 0 } },
    ],
  },
});
const quality = parseQuality(QUALITY, 'quality.json');
const parts = (
  metrics = '{"accuracy": 0.85, "log_loss": 0.4}',
  extra: { name: string; data?: Uint8Array }[] = [],
) => ({
  entryPoint: text('def model_fn(d): pass\n'),
  training: text('print(1)\n'),
  quality: QUALITY,
  outputs: [
    { name: 'metrics.json', data: text(metrics) },
    { name: 'model.json', data: text('{}') },
    ...extra,
  ],
});

describe('the bar', () => {
  test('passes within bounds, and names model, metric, value and threshold otherwise', () => {
    expect(barProblems('m', quality, { accuracy: 0.8, log_loss: 0.5 })).toEqual([]);
    expect(barProblems('m', quality, { accuracy: 0.79, log_loss: 0.51 })).toEqual([
      'model "m": accuracy is 0.79, below its bar of 0.8 (min)',
      'model "m": log_loss is 0.51, above its bar of 0.5 (max)',
    ]);
  });

  test('a metric the bar names but training did not produce', () => {
    expect(barProblems('m', quality, { accuracy: 0.9 })).toEqual([
      expect.stringMatching(
        /names metric "log_loss" but training produced none \(metrics\.json has accuracy\)/,
      ),
    ]);
  });
});

describe('answers against validation rows', () => {
  test.each([
    [0.9, 0.915, undefined],
    [0.9, 0.93, 'the answer: expected 0.9 ± 0.02, got 0.93'],
    [1, '1', 'the answer: expected the number 1, got "1"'],
    ['a', 'b', 'the answer: expected "a", got "b"'],
    [{ score: 1 }, { score: 1, extra: 2 }, 'the answer: unexpected key(s) extra'],
    [{ score: 1, label: 1 }, { score: 1 }, 'label: missing from the answer'],
    [[1, 2], [1], 'the answer: expected 2 element(s), got 1'],
    [{ p: [{ y: 1 }] }, { p: [{ y: 2 }] }, 'p[0].y: expected 1 ± 0.02, got 2'],
    [null, null, undefined],
  ])('%j vs %j', (expected, got, mismatch) => {
    expect(answerMismatch(expected, got, 0.02)).toBe(mismatch);
  });

  test('the first row off its expectation, with its input, expected and got', () => {
    const answer = {
      predictions: [
        { score: 0.9, label: 1 },
        { score: 0.2, label: 0 },
      ],
    };
    const m = firstRowMismatch(quality, answer)!;
    expect(m).toMatchObject({ row: 1, instance: { a: 1 }, got: { score: 0.2, label: 0 } });
    expect(describeMismatch(m)).toBe(
      'validation row 1: input {"a":1}, expected {"score":0.1,"label":0}, got {"score":0.2,"label":0} (score: expected 0.1 ± 0.02, got 0.2)',
    );
    expect(
      firstRowMismatch(quality, {
        predictions: [
          { score: 0.91, label: 1 },
          { score: 0.1, label: 0 },
        ],
      }),
    ).toBeUndefined();
  });

  test('an answer that is not a prediction list of the right length', () => {
    expect(firstRowMismatch(quality, { predictions: [] })!.detail).toMatch(/with 2 prediction\(s\)/);
    expect(firstRowMismatch(quality, 'oops')!.detail).toMatch(/got "oops"/);
  });

  test('one request holds every row in order', () => {
    expect(JSON.parse(validationRequest(quality))).toEqual({ instances: [[1, 2, 3], { a: 1 }] });
  });
});

describe('the archive', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-archive-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('node-tar reads what tarGz writes, quality.json and metrics.json first', () => {
    const archive = assembleModelArchive('m', parts());
    const file = path.join(dir, 'm.tar.gz');
    fs.writeFileSync(file, archive.bytes);
    const seen: string[] = [];
    tar.t({ file, sync: true, onReadEntry: (e) => seen.push(e.path) });
    expect(seen).toEqual(['quality.json', 'metrics.json', 'inference.py', 'model.json', 'train.py']);
    expect(archive.metrics).toEqual({ accuracy: 0.85, log_loss: 0.4 });
  });

  test('readTarGz reads what node-tar writes (another writer), long names included', () => {
    const src = path.join(dir, 'src');
    const long = `${'d'.repeat(80)}/${'e'.repeat(80)}.txt`;
    fs.mkdirSync(path.dirname(path.join(src, long)), { recursive: true });
    fs.writeFileSync(path.join(src, long), 'deep');
    fs.writeFileSync(path.join(src, 'quality.json'), QUALITY);
    const file = path.join(dir, 'other.tar.gz');
    tar.c({ file, cwd: src, gzip: true, sync: true, portable: true }, ['quality.json', long.split('/')[0]!]);
    const files = readTarGz(fs.readFileSync(file));
    expect(new TextDecoder().decode(files.get(long))).toBe('deep');
    expect(new TextDecoder().decode(files.get('quality.json'))).toBe(QUALITY);
  });

  test('the head of a big archive holds the bar and the metrics', () => {
    const big = new Uint8Array(randomBytes(3 * HEAD_BYTES)); // incompressible
    const archive = assembleModelArchive('m', parts(undefined, [{ name: 'weights.bin', data: big }]));
    expect(archive.bytes.length).toBeGreaterThan(HEAD_BYTES);
    const head = readTarGz(archive.bytes.subarray(0, HEAD_BYTES), { partial: true });
    expect(archiveQuality(head, 'm').metrics).toEqual({ accuracy: 0.85, log_loss: 0.4 });
    expect(() => readTarGz(archive.bytes.subarray(0, HEAD_BYTES))).toThrow(ModelArchiveError);
  });

  test.each([
    ['not gzip', text('hello'), /not a gzip archive/],
    ['gzip of garbage', tarGz([]).map((b, i) => (i > 20 ? b ^ 0xff : b)), /not a gzip archive|checksum/],
  ])('corrupt bytes (%s) are named as such', (_why, bytes, pattern) => {
    expect(() => readTarGz(bytes)).toThrow(pattern);
  });

  test('a bad tar checksum', () => {
    const good = tarGz([{ name: 'a.txt', data: text('a') }]);
    const raw = new Uint8Array(gunzipSync(good));
    raw[0] = 'b'.charCodeAt(0);
    expect(() => readTarGz(new Uint8Array(gzipSync(raw)))).toThrow(/bad checksum/);
  });

  test('an archive without its bar, or a bar that is not one, is refused naming the file', () => {
    const files = readTarGz(tarGz([{ name: 'metrics.json', data: text('{}') }]));
    expect(() => archiveQuality(files, 'model archive k')).toThrow(
      /model archive k has no quality\.json at its root/,
    );
    files.set('quality.json', text('{"metrics": {}}'));
    expect(() => archiveQuality(files, 'model archive k')).toThrow(
      /model archive k quality\.json is not a quality bar/,
    );
  });

  test('assembling refuses, listing every reason', () => {
    expect(() =>
      assembleModelArchive(
        'm',
        parts('{"accuracy": 0.5, "log_loss": 0.4}', [{ name: 'os.py', data: text('') }]),
      ),
    ).toThrow(/training wrote Python \(os\.py\)[\s\S]*accuracy is 0\.5, below its bar of 0\.8/);
    expect(() => assembleModelArchive('m', parts(undefined, [{ name: 'train.py', data: text('') }]))).toThrow(
      /training wrote train\.py, a name the archive keeps for its own files/,
    );
    expect(() => assembleModelArchive('m', { ...parts(), outputs: [] })).toThrow(
      /training wrote no metrics\.json/,
    );
    expect(() => assembleModelArchive('m', { ...parts(), maxBytes: 10 })).toThrow(
      /over the limit of 10 bytes/,
    );
  });

  test('the same parts give the same bytes', () => {
    expect(
      Buffer.from(assembleModelArchive('m', parts()).bytes).equals(
        Buffer.from(assembleModelArchive('m', parts()).bytes),
      ),
    ).toBe(true);
  });
});

test('a retraining id is 40 hex, stable, and differs by commit and by job', () => {
  const a = retrainingId('a'.repeat(40), 'job-1');
  expect(a).toMatch(/^[0-9a-f]{40}$/);
  expect(retrainingId('a'.repeat(40), 'job-1')).toBe(a);
  expect(retrainingId('a'.repeat(40), 'job-2')).not.toBe(a);
  expect(retrainingId('b'.repeat(40), 'job-1')).not.toBe(a);
});
