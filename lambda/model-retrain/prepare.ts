/**
 * Prepare (the train workflow's first step): checks that the biome can retrain `model` and says
 * where the training job finds its code and data. The code is the biome's live archive (the commit
 * that was promoted there, so retraining never runs code the biome has not run), the data the
 * biome's training-data prefix. Refusals are named errors (./errors) whose message says what to do.
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { httpStatusOf, nameOf } from '../deploy-trigger/errors';
import { ARTIFACT_METADATA, MODEL_POINTER_NONE } from '../shared/contracts';
import { shaProblem, targetModelProblem } from '../shared/grammar';
import { issueLines } from '../shared/issues';
import { ServiceError } from '../shared/service-error';
import { CONTAINER_INPUT_DIR, type Prepared, TRAINING_CHANNELS, retrainInputSchema } from './contract';
import { RETRAIN_ERRORS } from './errors';
import type { Settings } from './settings';

export interface PrepareDeps {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly settings: Settings;
}

const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** The model the execution names, or a BadInput error that says what to start it with. */
export function modelOf(input: unknown, settings: Settings): string {
  const parsed = retrainInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ServiceError(
      RETRAIN_ERRORS.badInput,
      `the execution input must be {"model": "<name>"} (${issueLines(parsed.error, 'input').join('; ')}); models of biome ${settings.scope.biome}: ${settings.models.join(', ')}`,
    );
  }
  const { model } = parsed.data;
  if (!settings.models.includes(model)) {
    throw new ServiceError(
      RETRAIN_ERRORS.notServed,
      `biome ${settings.scope.biome} does not serve a model "${model}"; it serves ${settings.models.join(', ')}`,
    );
  }
  return model;
}

/** The live TargetModel of `model` (relative to the model prefix), checked to be the biome's own. */
async function livePointer(deps: PrepareDeps, model: string): Promise<string> {
  const { scope } = deps.settings;
  const name = scope.modelPointer(model);
  const answer = await deps.ssm.send(new GetParameterCommand({ Name: name }));
  const value = answer.Parameter?.Value ?? MODEL_POINTER_NONE;
  if (value === MODEL_POINTER_NONE) {
    throw new ServiceError(
      RETRAIN_ERRORS.noLiveModel,
      `no model of ${model} is live in ${scope.biome}; publish one before retraining`,
    );
  }
  // Canonical `<biome>/<model>-<sha>.tar.gz` only: the training role reads the biome's prefix and
  // nothing else, and a path like `alice/../bob/...` must never reach a training job.
  const problem = targetModelProblem(value, scope.biome);
  if (problem || !value.startsWith(`${scope.biome}/${model}-`)) {
    throw new ServiceError(
      RETRAIN_ERRORS.liveArchiveUnusable,
      `the pointer ${name} holds "${value}", which is not a model ${model} of biome ${scope.biome}${problem ? ` (${problem})` : ''}; redeploy the model to repair it`,
    );
  }
  return value;
}

/**
 * The commit whose training code the live archive carries: its `commit-sha`, or, for a model that was
 * itself retrained (its commit-sha is a retraining id), its `retrained-from`.
 */
async function liveCommit(deps: PrepareDeps, key: string): Promise<string> {
  const { modelBucket } = deps.settings;
  let head;
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: modelBucket, Key: key }));
  } catch (e) {
    if (nameOf(e) !== 'NotFound' && httpStatusOf(e) !== 404) throw e;
    throw new ServiceError(
      RETRAIN_ERRORS.liveArchiveUnusable,
      `the pointer names ${s3Uri(modelBucket, key)}, which does not exist; redeploy the model to repair the pointer`,
    );
  }
  const meta = head.Metadata ?? {};
  const commit = meta[ARTIFACT_METADATA.retrainedFrom] ?? meta[ARTIFACT_METADATA.commitSha];
  const problem = commit === undefined ? 'none is set' : shaProblem(commit);
  if (problem) {
    throw new ServiceError(
      RETRAIN_ERRORS.liveArchiveUnusable,
      `the live archive ${s3Uri(modelBucket, key)} does not say which commit made it (x-amz-meta-${ARTIFACT_METADATA.commitSha}: ${problem}); publish the model again through the pipeline`,
    );
  }
  return commit!;
}

/** Refuses a run with no training data, naming the exact prefix to upload to. */
async function checkTrainingData(deps: PrepareDeps, model: string): Promise<string> {
  const { modelBucket, scope } = deps.settings;
  const prefix = scope.trainingDataPrefix(model);
  // StartAfter the prefix itself: a zero-byte "folder" object of that name (the S3 console makes
  // one) is not data.
  const listed = await deps.s3.send(
    new ListObjectsV2Command({ Bucket: modelBucket, Prefix: prefix, StartAfter: prefix, MaxKeys: 1 }),
  );
  if ((listed.KeyCount ?? listed.Contents?.length ?? 0) === 0) {
    throw new ServiceError(
      RETRAIN_ERRORS.noTrainingData,
      `there is no training data for model ${model} in biome ${scope.biome}: upload CSV files to ${s3Uri(modelBucket, prefix)} and start again`,
    );
  }
  return s3Uri(modelBucket, prefix);
}

export async function prepare(deps: PrepareDeps, input: unknown, now: Date): Promise<Prepared> {
  const { settings } = deps;
  const { scope, modelBucket } = settings;
  const model = modelOf(input, settings);
  const pointer = await livePointer(deps, model);
  const liveKey = `${settings.modelPrefix}${pointer}`;
  const commit = await liveCommit(deps, liveKey);
  const dataUri = await checkTrainingData(deps, model);
  const file = liveKey.slice(liveKey.lastIndexOf('/') + 1);
  return {
    model,
    commit,
    jobName: scope.trainingJobName(now),
    liveKey,
    codeUri: s3Uri(modelBucket, liveKey),
    dataUri,
    outputUri: s3Uri(modelBucket, scope.trainingOutputPrefix),
    submitDirectory: `${CONTAINER_INPUT_DIR}/${TRAINING_CHANNELS.code}/${file}`,
  };
}
