/**
 * A biome's retraining world for tests: the function's environment, a live archive as the build makes
 * it, a training job's model.tar.gz, and aws-sdk-client-mock answers for S3 and SSM. Self-contained
 * (its own small model), so the tests do not follow models/ as it changes.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { RETRAIN_ENV as ENV } from '../../../lambda/model-retrain/env';
import { type Settings, settingsFromEnv } from '../../../lambda/model-retrain/settings';
import { type TreeEntry, assembleModelArchive, tarGz } from '../../../lambda/shared/model-archive';

export const MODEL = 'demo-scorer';
export const OTHER_MODEL = 'churn';
export const BIOME = 'alice';
export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const MODEL_BUCKET = 'biomes-dev-models';
export const LANDING_BUCKET = 'biomes-dev-landing-222222222222-eu-west-1';
export const MODEL_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/11111111-1111-4111-8111-111111111111';
export const LANDING_KEY_ARN = 'arn:aws:kms:eu-west-1:222222222222:key/22222222-2222-4222-8222-222222222222';
/** The pointer's value: the live TargetModel, relative to the model prefix. */
export const POINTER = `${BIOME}/${MODEL}-${COMMIT}.tar.gz`;
export const LIVE_KEY = `models/${POINTER}`;
export const POINTER_PARAMETER = `/biomes/dev/${BIOME}/model-pointers/${MODEL}`;
export const DATA_PREFIX = `training-data/${BIOME}/${MODEL}/`;
/** 2025-03-01T12:00:00Z: the job is named after it. */
export const NOW = new Date(Date.UTC(2025, 2, 1, 12, 0, 0, 250));
export const JOB_NAME = 'biomes-dev-alice-20250301120000';
export const OUTPUT_KEY = `training-output/${BIOME}/${JOB_NAME}/output/model.tar.gz`;

export const ENVIRONMENT: Readonly<Record<string, string>> = {
  [ENV.appName]: 'biomes',
  [ENV.envName]: 'dev',
  [ENV.biome]: BIOME,
  [ENV.models]: `${MODEL},${OTHER_MODEL}`,
  [ENV.modelBucket]: MODEL_BUCKET,
  [ENV.modelPrefix]: 'models/',
  [ENV.landingBucket]: LANDING_BUCKET,
  [ENV.landingKeyArn]: LANDING_KEY_ARN,
};

export function settings(): Settings {
  return settingsFromEnv(ENVIRONMENT);
}

const encoder = new TextEncoder();
export const bytes = (text: string) => encoder.encode(text);

export const QUALITY = `${JSON.stringify(
  {
    metrics: { accuracy: { min: 0.8 }, log_loss: { max: 0.5 } },
    validation: {
      tolerance: 0.02,
      rows: [{ instance: [42, 55000, 3], expected: { score: 0.26, label: 0 } }],
    },
  },
  null,
  2,
)}\n`;
export const ENTRY_POINT = 'def model_fn(model_dir):\n    return model_dir\n';
export const TRAINING = 'import argparse\n# fits the model on --data, writes it and metrics.json to --out\n';

export const PASSING_METRICS = { accuracy: 0.84, log_loss: 0.41 };
export const FAILING_METRICS = { accuracy: 0.61, log_loss: 0.41 };

/** What a training job's output holds: metrics.json and the model's file (plus `extra`). */
export function trainingOutputFiles(
  metrics: Record<string, number> = PASSING_METRICS,
  extra: readonly TreeEntry[] = [],
): TreeEntry[] {
  return [
    { name: 'metrics.json', data: bytes(`${JSON.stringify(metrics)}\n`) },
    { name: 'model.json', data: bytes('{"coefficients": [0.1, 0.2, 0.3]}\n') },
    ...extra,
  ];
}

/** model.tar.gz as SageMaker writes it from the job's /opt/ml/model. */
export function trainingOutput(
  metrics: Record<string, number> = PASSING_METRICS,
  extra: readonly TreeEntry[] = [],
): Uint8Array {
  return tarGz(trainingOutputFiles(metrics, extra));
}

/** The live archive, as `npm run package` made it at {@link COMMIT}. */
export function liveArchive(): Uint8Array {
  return assembleModelArchive(MODEL, {
    entryPoint: bytes(ENTRY_POINT),
    training: bytes(TRAINING),
    quality: QUALITY,
    outputs: trainingOutputFiles({ accuracy: 0.82, log_loss: 0.45 }),
  }).bytes;
}

/** An S3 GetObject body: what the handler reads (`transformToByteArray`). */
export function body(data: Uint8Array) {
  const stream = { transformToByteArray: () => Promise.resolve(data) };
  return stream as never;
}

export class AwsError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, status: number, message = name) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

export interface World {
  /** The pointer's value (`none` before any deploy). @default POINTER */
  readonly pointer?: string;
  /** The live archive's user metadata. @default commit-sha = COMMIT */
  readonly liveMetadata?: Record<string, string>;
  /** Objects under the data prefix. @default 1 */
  readonly dataObjects?: number;
  /** The job's model.tar.gz; undefined: none written. @default trainingOutput() */
  readonly output?: Uint8Array | undefined;
  /** @default liveArchive() */
  readonly live?: Uint8Array;
}

export interface Mocks {
  readonly s3: AwsClientStub<S3Client>;
  readonly ssm: AwsClientStub<SSMClient>;
  restore(): void;
}

/** Mocks S3 and SSM as the biome's world `w` answers them. */
export function mockWorld(w: World = {}): Mocks {
  const s3 = mockClient(S3Client);
  const ssm = mockClient(SSMClient);
  ssm
    .on(GetParameterCommand, { Name: POINTER_PARAMETER })
    .resolves({ Parameter: { Name: POINTER_PARAMETER, Value: w.pointer ?? POINTER } });
  s3.on(HeadObjectCommand).rejects(new AwsError('NotFound', 404));
  s3.on(HeadObjectCommand, { Bucket: MODEL_BUCKET, Key: LIVE_KEY }).resolves({
    Metadata: w.liveMetadata ?? { 'commit-sha': COMMIT, branch: 'main' },
  });
  const count = w.dataObjects ?? 1;
  s3.on(ListObjectsV2Command, { Bucket: MODEL_BUCKET, Prefix: DATA_PREFIX }).resolves({
    KeyCount: count,
    Contents: Array.from({ length: count }, (_, i) => ({ Key: `${DATA_PREFIX}part-${i}.csv` })),
  });
  s3.on(GetObjectCommand).rejects(new AwsError('NoSuchKey', 404, 'The specified key does not exist.'));
  const live = w.live ?? liveArchive();
  s3.on(GetObjectCommand, { Bucket: MODEL_BUCKET, Key: LIVE_KEY }).resolves({
    Body: body(live),
    ContentLength: live.length,
  });
  const output = 'output' in w ? w.output : trainingOutput();
  if (output) {
    s3.on(GetObjectCommand, { Bucket: MODEL_BUCKET, Key: OUTPUT_KEY }).resolves({
      Body: body(output),
      ContentLength: output.length,
    });
  }
  s3.on(PutObjectCommand).resolves({});
  return {
    s3,
    ssm,
    restore() {
      s3.restore();
      ssm.restore();
    },
  };
}
