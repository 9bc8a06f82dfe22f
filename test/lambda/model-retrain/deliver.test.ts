/** Deliver: the retrained archive (the build's bytes for the same parts), its publication, and what stops it. */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import 'aws-sdk-client-mock-jest';
import type { Prepared } from '../../../lambda/model-retrain/contract';
import { validateHeaderValue } from 'node:http';
import { deliver, headerSafe, outputTree, publicationTime } from '../../../lambda/model-retrain/deliver';
import { RETRAIN_ERRORS } from '../../../lambda/model-retrain/errors';
import { assembleModelArchive, readTarGz, retrainingId, tarGz } from '../../../lambda/shared/model-archive';
import {
  AwsError,
  BIOME,
  COMMIT,
  ENTRY_POINT,
  FAILING_METRICS,
  JOB_NAME,
  LANDING_BUCKET,
  LANDING_KEY_ARN,
  LIVE_KEY,
  MODEL,
  MODEL_BUCKET,
  type Mocks,
  NOW,
  OUTPUT_KEY,
  PASSING_METRICS,
  QUALITY,
  TRAINING,
  type World,
  bytes,
  mockWorld,
  settings,
  trainingOutput,
  trainingOutputFiles,
} from './fixtures';

const PREPARED: Prepared = {
  model: MODEL,
  commit: COMMIT,
  jobName: JOB_NAME,
  liveKey: LIVE_KEY,
  codeUri: `s3://${MODEL_BUCKET}/${LIVE_KEY}`,
  dataUri: `s3://${MODEL_BUCKET}/training-data/${BIOME}/${MODEL}/`,
  outputUri: `s3://${MODEL_BUCKET}/training-output/${BIOME}/`,
  submitDirectory: `/opt/ml/input/data/code/${MODEL}-${COMMIT}.tar.gz`,
};
const ID = retrainingId(COMMIT, JOB_NAME);
const KEY = `${BIOME}/${MODEL}-${ID}.tar.gz`;
const logger = { info: jest.fn() };

let mocks: Mocks | undefined;
afterEach(() => {
  mocks?.restore();
  logger.info.mockClear();
});

function run(world: World = {}, prepared: Prepared = PREPARED) {
  mocks = mockWorld(world);
  return deliver({ s3: new S3Client({}), settings: settings(), logger }, prepared, 'retrain-exec-1', NOW);
}

async function failure(world: World = {}, prepared: Prepared = PREPARED): Promise<Error> {
  const error = await run(world, prepared).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('deliver did not fail');
  return error;
}

test('puts the retrained archive in the landing bucket under its retraining id, never overwriting', async () => {
  await expect(run()).resolves.toEqual({ key: KEY, id: ID, metrics: PASSING_METRICS });
  expect(mocks!.s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  expect(mocks!.s3).toHaveReceivedCommandWith(PutObjectCommand, {
    Bucket: LANDING_BUCKET,
    Key: KEY,
    IfNoneMatch: '*',
    ServerSideEncryption: 'aws:kms',
    SSEKMSKeyId: LANDING_KEY_ARN,
    Metadata: {
      'commit-sha': ID,
      branch: 'retrained',
      'published-at': '2025-03-01T12:00:00Z',
      'pipeline-execution-id': 'retrain-exec-1',
      'retrained-from': COMMIT,
      'training-data': `s3://${MODEL_BUCKET}/training-data/alice/demo-scorer/`,
      'training-job': JOB_NAME,
    },
  });
});

test('an execution name that is not ASCII (Step Functions accepts one) is percent-encoded in the metadata, which travels as a header', () => {
  const name = 'retrain-ünïcode-名前';
  expect(() => validateHeaderValue('x-amz-meta-pipeline-execution-id', name)).toThrow();
  const safe = headerSafe(name);
  expect(() => validateHeaderValue('x-amz-meta-pipeline-execution-id', safe)).not.toThrow();
  expect(decodeURIComponent(safe)).toBe(name);
  expect(headerSafe('retrain-exec-1')).toBe('retrain-exec-1');
});

test("the archive is the build's: the live code and bar with the job's outputs, the same bytes", async () => {
  await run();
  const put = mocks!.s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
  const expected = assembleModelArchive(MODEL, {
    entryPoint: bytes(ENTRY_POINT),
    training: bytes(TRAINING),
    quality: QUALITY,
    outputs: trainingOutputFiles(),
  });
  expect(put.Body).toEqual(expected.bytes);
  const files = readTarGz(put.Body as Uint8Array);
  expect([...files.keys()]).toEqual([
    'quality.json',
    'metrics.json',
    'inference.py',
    'model.json',
    'train.py',
  ]);
  expect(new TextDecoder().decode(files.get('metrics.json'))).toBe(`${JSON.stringify(PASSING_METRICS)}\n`);
});

test('below its bar: BelowBar names the metric, its value and the bar, and nothing is written', async () => {
  const e = await failure({ output: trainingOutput(FAILING_METRICS) });
  expect(e.name).toBe(RETRAIN_ERRORS.belowBar);
  expect(e.message).toBe(
    `training job ${JOB_NAME} retrained demo-scorer from commit ${COMMIT}, and nothing was delivered:\nmodel "demo-scorer": accuracy is 0.61, below its bar of 0.8 (min)`,
  );
  expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('a job whose output has no metrics.json misses the bar too', async () => {
  const e = await failure({ output: tarGz([{ name: 'model.json', data: bytes('{}') }]) });
  expect(e.name).toBe(RETRAIN_ERRORS.belowBar);
  expect(e.message).toContain('training wrote no metrics.json');
  expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('a corrupt model.tar.gz is BadTrainingOutput, naming the object', async () => {
  const e = await failure({ output: bytes('this is not gzip') });
  expect(e.name).toBe(RETRAIN_ERRORS.badTrainingOutput);
  expect(e.message).toMatch(
    new RegExp(
      `^the output of training job ${JOB_NAME} \\(s3://${MODEL_BUCKET}/${OUTPUT_KEY}\\) is not a readable model archive: not a gzip archive`,
    ),
  );
  expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('a truncated model.tar.gz is BadTrainingOutput', async () => {
  const whole = trainingOutput();
  const e = await failure({ output: whole.subarray(0, Math.floor(whole.length / 2)) });
  expect(e.name).toBe(RETRAIN_ERRORS.badTrainingOutput);
  expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('a job that wrote no model.tar.gz is BadTrainingOutput', async () => {
  const e = await failure({ output: undefined });
  expect(e.name).toBe(RETRAIN_ERRORS.badTrainingOutput);
  expect(e.message).toBe(
    `training job ${JOB_NAME} wrote no model: the output s3://${MODEL_BUCKET}/${OUTPUT_KEY} does not exist`,
  );
});

test('an output path that leaves the model folder is refused', async () => {
  const e = await failure({
    output: trainingOutput(PASSING_METRICS, [{ name: '../escape.txt', data: bytes('x') }]),
  });
  expect(e.name).toBe(RETRAIN_ERRORS.badTrainingOutput);
  expect(e.message).toContain('holds "../escape.txt", a path outside the model folder');
});

test('a live archive without train.py cannot be retrained', async () => {
  const live = tarGz([
    { name: 'quality.json', data: bytes(QUALITY) },
    { name: 'metrics.json', data: bytes('{}') },
    { name: 'inference.py', data: bytes(ENTRY_POINT) },
  ]);
  const e = await failure({ live });
  expect(e.name).toBe(RETRAIN_ERRORS.liveArchiveUnusable);
  expect(e.message).toMatch(/has no train\.py at its root, so it cannot be retrained/);
});

test.each<[string, Partial<Prepared>]>([
  ['a job of another biome', { jobName: 'biomes-dev-bob-20250301120000' }],
  ['a model the biome does not serve', { model: 'fraud' }],
  ['a live archive of another biome', { liveKey: `models/bob/${MODEL}-${COMMIT}.tar.gz` }],
])('a run naming %s is not delivered', async (_what, change) => {
  const e = await failure({}, { ...PREPARED, ...change });
  expect(e.name).toBe(RETRAIN_ERRORS.badInput);
  expect(mocks!.s3.calls()).toHaveLength(0);
});

test('a repeated Deliver of the same job finds its object there and succeeds without overwriting', async () => {
  mocks = mockWorld();
  mocks.s3.on(PutObjectCommand).rejects(new AwsError('PreconditionFailed', 412));
  await expect(
    deliver({ s3: new S3Client({}), settings: settings(), logger }, PREPARED, 'retrain-exec-1', NOW),
  ).resolves.toEqual({ key: KEY, id: ID, metrics: PASSING_METRICS });
  expect(logger.info).toHaveBeenCalledWith('already delivered', expect.objectContaining({ key: KEY }));
});

test('another S3 error on the put is not swallowed', async () => {
  mocks = mockWorld();
  mocks.s3.on(PutObjectCommand).rejects(new AwsError('AccessDenied', 403));
  await expect(
    deliver({ s3: new S3Client({}), settings: settings(), logger }, PREPARED, 'retrain-exec-1', NOW),
  ).rejects.toThrow('AccessDenied');
});

describe('outputTree', () => {
  test('adds the folders of nested files and leaves out what the build leaves out', () => {
    const files = new Map([
      ['weights/layer-1.bin', bytes('1')],
      ['model.json', bytes('{}')],
      ['.DS_Store', bytes('x')],
      ['__pycache__/train.cpython-39.pyc', bytes('x')],
      ['weights/.hidden', bytes('x')],
    ]);
    expect(outputTree(files, 'the output').map((e) => e.name)).toEqual([
      'model.json',
      'weights/',
      'weights/layer-1.bin',
    ]);
  });
});

test('publication time: ISO-8601 UTC to the second', () => {
  expect(publicationTime(new Date(Date.UTC(2025, 0, 31, 23, 59, 59, 999)))).toBe('2025-01-31T23:59:59Z');
});
