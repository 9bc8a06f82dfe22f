/** Prepare: what a run needs before a training job starts, and every refusal with its message. */
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import { RETRAIN_ERRORS } from '../../../lambda/model-retrain/errors';
import { prepare } from '../../../lambda/model-retrain/prepare';
import {
  BIOME,
  COMMIT,
  DATA_PREFIX,
  JOB_NAME,
  LIVE_KEY,
  MODEL,
  MODEL_BUCKET,
  type Mocks,
  NOW,
  type World,
  mockWorld,
  settings,
} from './fixtures';

let mocks: Mocks | undefined;
afterEach(() => mocks?.restore());

function run(input: unknown, world: World = {}) {
  mocks = mockWorld(world);
  return prepare({ s3: new S3Client({}), ssm: new SSMClient({}), settings: settings() }, input, NOW);
}

/** The named error a run is refused with. */
async function refusal(input: unknown, world: World = {}): Promise<Error> {
  const error = await run(input, world).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('prepare did not refuse the run');
  return error;
}

test('names the job, the live code, the data and the output of a run', async () => {
  await expect(run({ model: MODEL })).resolves.toEqual({
    model: MODEL,
    commit: COMMIT,
    jobName: JOB_NAME,
    liveKey: LIVE_KEY,
    codeUri: `s3://${MODEL_BUCKET}/${LIVE_KEY}`,
    dataUri: `s3://${MODEL_BUCKET}/${DATA_PREFIX}`,
    outputUri: `s3://${MODEL_BUCKET}/training-output/${BIOME}/`,
    submitDirectory: `/opt/ml/input/data/code/${MODEL}-${COMMIT}.tar.gz`,
  });
  // One key is enough to know there is data; a console "folder" object named like the prefix is not data.
  expect(mocks!.s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
    Bucket: MODEL_BUCKET,
    Prefix: DATA_PREFIX,
    StartAfter: DATA_PREFIX,
    MaxKeys: 1,
  });
  expect(mocks!.s3).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: MODEL_BUCKET, Key: LIVE_KEY });
});

test('a model that was itself retrained is retrained from the commit it came from', async () => {
  const retrained = await run(
    { model: MODEL },
    {
      liveMetadata: {
        'commit-sha': 'ffffffffffffffffffffffffffffffffffffffff',
        'retrained-from': COMMIT,
        branch: 'retrained',
      },
    },
  );
  expect(retrained.commit).toBe(COMMIT);
});

test('a model the biome does not serve is refused, naming those it does', async () => {
  const e = await refusal({ model: 'fraud' });
  expect(e.name).toBe(RETRAIN_ERRORS.notServed);
  expect(e.message).toBe('biome alice does not serve a model "fraud"; it serves demo-scorer, churn');
  expect(mocks!.ssm.calls()).toHaveLength(0);
});

test.each([[{}], [{ model: '' }], [{ model: 7 }], ['demo-scorer'], [null]])(
  'an execution input that names no model (%j) is BadInput, saying what to send',
  async (input) => {
    const e = await refusal(input);
    expect(e.name).toBe(RETRAIN_ERRORS.badInput);
    expect(e.message).toMatch(
      /^the execution input must be \{"model": "<name>"\} \(.+\); models of biome alice: demo-scorer, churn$/,
    );
  },
);

test('no live model: the pointer is `none`', async () => {
  const e = await refusal({ model: MODEL }, { pointer: 'none' });
  expect(e.name).toBe(RETRAIN_ERRORS.noLiveModel);
  expect(e.message).toBe('no model of demo-scorer is live in alice; publish one before retraining');
  expect(mocks!.s3.calls()).toHaveLength(0);
});

test.each([
  ['another biome', `bob/${MODEL}-${COMMIT}.tar.gz`],
  ['another model', `${BIOME}/churn-${COMMIT}.tar.gz`],
  ['a path out of the prefix', `${BIOME}/../bob/${MODEL}-${COMMIT}.tar.gz`],
])('a pointer to %s is never trained from', async (_what, pointer) => {
  const e = await refusal({ model: MODEL }, { pointer });
  expect(e.name).toBe(RETRAIN_ERRORS.liveArchiveUnusable);
  expect(e.message).toContain(`holds "${pointer}", which is not a model demo-scorer of biome alice`);
  expect(mocks!.s3.calls()).toHaveLength(0);
});

test('a live archive without commit metadata cannot say which code to run', async () => {
  const e = await refusal({ model: MODEL }, { liveMetadata: { branch: 'main' } });
  expect(e.name).toBe(RETRAIN_ERRORS.liveArchiveUnusable);
  expect(e.message).toBe(
    `the live archive s3://${MODEL_BUCKET}/${LIVE_KEY} does not say which commit made it (x-amz-meta-commit-sha: none is set); publish the model again through the pipeline`,
  );
});

test('a pointer to an archive that is gone is refused', async () => {
  mocks = mockWorld();
  mocks.s3.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound' }));
  const e = await prepare(
    { s3: new S3Client({}), ssm: new SSMClient({}), settings: settings() },
    { model: MODEL },
    NOW,
  ).catch((error: unknown) => error as Error);
  expect((e as Error).name).toBe(RETRAIN_ERRORS.liveArchiveUnusable);
  expect((e as Error).message).toMatch(/which does not exist; redeploy the model to repair the pointer$/);
});

test('no training data: the message names the exact prefix to upload CSV files to', async () => {
  const e = await refusal({ model: MODEL }, { dataObjects: 0 });
  expect(e.name).toBe(RETRAIN_ERRORS.noTrainingData);
  expect(e.message).toBe(
    `there is no training data for model demo-scorer in biome alice: upload CSV files to s3://${MODEL_BUCKET}/training-data/alice/demo-scorer/ and start again`,
  );
});
