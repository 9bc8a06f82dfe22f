/**
 * Deliver (the train workflow's last step): packages what the training job wrote with the live
 * archive's own code and bar, exactly as the build packages a model (lambda/shared/model-archive.ts
 * `assembleModelArchive`: the same checks, the same bar, the same bytes for the same input), and puts
 * it in the landing bucket like a publication. The deploy trigger then validates it on the endpoint
 * and moves the biome's pointer by the usual path; below its bar nothing is written at all.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf, nameOf } from '../deploy-trigger/errors';
import { ARTIFACT_METADATA } from '../shared/contracts';
import { artifactKey } from '../shared/grammar';
import {
  MODEL_ARCHIVE_FILES,
  ModelArchiveError,
  type TreeEntry,
  assembleModelArchive,
  readTarGz,
  retrainingId,
} from '../shared/model-archive';
import { ServiceError } from '../shared/service-error';
import { type Delivered, type Prepared, trainingOutputKey } from './contract';
import { RETRAIN_ERRORS } from './errors';
import type { Settings } from './settings';

export type Log = Pick<Logger, 'info'>;

export interface DeliverDeps {
  readonly s3: S3Client;
  readonly settings: Settings;
  readonly logger: Log;
}

/**
 * The largest archive (compressed, and again expanded) Deliver handles: it holds the training output,
 * the live archive and the new archive in memory at once (the function has 2 GiB). A bigger model
 * needs packaging outside Lambda.
 */
export const MAX_RETRAIN_BYTES = 256 * 1024 * 1024;

/** The `branch` metadata of a retrained model: it comes from no Git branch. */
export const RETRAINED_BRANCH = 'retrained';

const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;
const decoder = new TextDecoder();

/**
 * A metadata value S3 can carry: user metadata travels as HTTP headers, and Step Functions accepts
 * execution names that are not ASCII, which Node refuses in a header (after the whole training run).
 * Anything outside printable ASCII is percent-encoded.
 */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** ISO-8601 UTC to the second, `Z`: the form the deploy trigger orders publications by. */
export function publicationTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * What Prepare handed over, checked again: Deliver writes a publication, so it trusts no name it did
 * not derive itself or see the biome's own shape in.
 */
function checkPrepared(prepared: Prepared, settings: Settings): void {
  const { scope } = settings;
  const problems: string[] = [];
  if (!settings.models.includes(prepared.model))
    problems.push(`model "${prepared.model}" is not one biome ${scope.biome} serves`);
  if (!scope.isTrainingJobName(prepared.jobName))
    problems.push(`training job "${prepared.jobName}" is not one of biome ${scope.biome}'s`);
  if (!prepared.liveKey.startsWith(`${scope.modelPrefix(settings.modelPrefix)}${prepared.model}-`))
    problems.push(`"${prepared.liveKey}" is not a live archive of model ${prepared.model} in ${scope.biome}`);
  if (problems.length > 0) {
    throw new ServiceError(
      RETRAIN_ERRORS.badInput,
      `Deliver got a run it cannot deliver (${problems.join('; ')}); start the workflow again with {"model": "<name>"}`,
    );
  }
}

async function readObject(
  s3: S3Client,
  bucket: string,
  key: string,
  what: string,
  error: string,
): Promise<Uint8Array> {
  let answer;
  try {
    answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if (nameOf(e) === 'NoSuchKey' || httpStatusOf(e) === 404) {
      throw new ServiceError(error, `${what} ${s3Uri(bucket, key)} does not exist`);
    }
    throw e;
  }
  if ((answer.ContentLength ?? 0) > MAX_RETRAIN_BYTES) {
    throw new ServiceError(
      error,
      `${what} ${s3Uri(bucket, key)} is ${answer.ContentLength} bytes, over the ${MAX_RETRAIN_BYTES} bytes retraining packages in Lambda`,
    );
  }
  if (!answer.Body) throw new ServiceError(error, `${what} ${s3Uri(bucket, key)} has no body`);
  return answer.Body.transformToByteArray();
}

function untar(bytes: Uint8Array, where: string, error: string): Map<string, Uint8Array> {
  try {
    return readTarGz(bytes, { maxBytes: MAX_RETRAIN_BYTES });
  } catch (e) {
    if (!(e instanceof ModelArchiveError)) throw e;
    throw new ServiceError(error, `${where} is not a readable model archive: ${e.message}`);
  }
}

/** Litter the build skips too (lib/bundling/package.ts IGNORED): dot files, `__pycache__/`, `*.pyc`. */
const isLitter = (segment: string) =>
  segment.startsWith('.') || segment === '__pycache__' || segment.endsWith('.pyc');

/**
 * What training wrote, as the build reads its output folder: files and their folders, sorted by name,
 * litter left out. A path that leaves the folder (absolute, `..`) is refused, not repaired.
 */
export function outputTree(files: ReadonlyMap<string, Uint8Array>, where: string): TreeEntry[] {
  const entries = new Map<string, TreeEntry>();
  for (const [name, data] of files) {
    const segments = name.split('/');
    if (segments.some((s) => s === '' || s === '..')) {
      throw new ServiceError(
        RETRAIN_ERRORS.badTrainingOutput,
        `${where} holds "${name}", a path outside the model folder; train.py must write plain files under --out`,
      );
    }
    if (segments.some(isLitter)) continue;
    for (let i = 1; i < segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      entries.set(dir, { name: dir });
    }
    entries.set(name, { name, data });
  }
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The promoted code and bar the live archive carries (it is the model's folder as the build packaged it). */
function liveParts(files: ReadonlyMap<string, Uint8Array>, where: string) {
  const file = (name: string): Uint8Array => {
    const data = files.get(name);
    if (!data) {
      throw new ServiceError(
        RETRAIN_ERRORS.liveArchiveUnusable,
        `${where} has no ${name} at its root, so it cannot be retrained; publish the model again with \`npm run package\`, which writes it`,
      );
    }
    return data;
  };
  return {
    entryPoint: file(MODEL_ARCHIVE_FILES.entryPoint),
    training: file(MODEL_ARCHIVE_FILES.training),
    quality: decoder.decode(file(MODEL_ARCHIVE_FILES.quality)),
  };
}

export async function deliver(
  deps: DeliverDeps,
  prepared: Prepared,
  execution: string,
  now: Date,
): Promise<Delivered> {
  const { s3, settings, logger } = deps;
  const { scope, modelBucket } = settings;
  checkPrepared(prepared, settings);
  const { model, jobName, commit, liveKey } = prepared;

  const outputKey = trainingOutputKey(scope.trainingOutputPrefix, jobName);
  const outputWhere = `the output of training job ${jobName} (${s3Uri(modelBucket, outputKey)})`;
  const output = untar(
    await readObject(
      s3,
      modelBucket,
      outputKey,
      `training job ${jobName} wrote no model: the output`,
      RETRAIN_ERRORS.badTrainingOutput,
    ),
    outputWhere,
    RETRAIN_ERRORS.badTrainingOutput,
  );
  const liveWhere = `the live archive ${s3Uri(modelBucket, liveKey)}`;
  const live = untar(
    await readObject(s3, modelBucket, liveKey, 'the live archive', RETRAIN_ERRORS.liveArchiveUnusable),
    liveWhere,
    RETRAIN_ERRORS.liveArchiveUnusable,
  );

  let archive;
  try {
    archive = assembleModelArchive(model, {
      ...liveParts(live, liveWhere),
      outputs: outputTree(output, outputWhere),
      maxBytes: MAX_RETRAIN_BYTES,
    });
  } catch (e) {
    if (!(e instanceof ModelArchiveError)) throw e;
    throw new ServiceError(
      RETRAIN_ERRORS.belowBar,
      `training job ${jobName} retrained ${model} from commit ${commit}, and nothing was delivered:\n${e.message}`,
    );
  }

  const id = retrainingId(commit, jobName);
  const key = artifactKey('model', scope.biome, model, id);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: settings.landingBucket,
        Key: key,
        Body: archive.bytes,
        ContentType: 'application/gzip',
        Metadata: {
          [ARTIFACT_METADATA.commitSha]: id,
          [ARTIFACT_METADATA.branch]: RETRAINED_BRANCH,
          [ARTIFACT_METADATA.publishedAt]: publicationTime(now),
          [ARTIFACT_METADATA.pipelineExecutionId]: headerSafe(execution),
          [ARTIFACT_METADATA.retrainedFrom]: commit,
          [ARTIFACT_METADATA.trainingData]: s3Uri(modelBucket, scope.trainingDataPrefix(model)),
          [ARTIFACT_METADATA.trainingJob]: jobName,
        },
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: settings.landingKeyArn,
        BucketKeyEnabled: true,
        // Never overwrite: a publication is immutable once landed.
        IfNoneMatch: '*',
      }),
    );
  } catch (e) {
    if (nameOf(e) !== 'PreconditionFailed' && httpStatusOf(e) !== 412) throw e;
    // The id is a hash of the commit and this job's name: the object there is this run's, delivered
    // by an earlier attempt of this step.
    logger.info('already delivered', { key, id, trainingJob: jobName });
    return { key, id, metrics: archive.metrics };
  }
  logger.info('delivered', {
    key,
    id,
    trainingJob: jobName,
    retrainedFrom: commit,
    metrics: archive.metrics,
  });
  return { key, id, metrics: archive.metrics };
}
