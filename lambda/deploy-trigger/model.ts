/**
 * Model deploy (docs/design.md "The deploy trigger", step 4): copy the landing object under the biome's
 * prefix of the multi-model endpoint's model location without ever overwriting, optionally warm it
 * with one invocation, then move the biome's pointer. Every early exit leaves the pointer alone.
 */
import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ARTIFACT_METADATA, type ModelRegistration } from '../shared/contracts';
import { artifactFileName, targetModelProblem } from '../shared/grammar';
import { type Budget, MIN_STEP_MS } from './budget';
import { httpStatusOf, messageOf, nameOf } from './errors';
import { type ArtifactTarget, Retryable, Stop } from './outcome';

export type ModelTarget = ArtifactTarget;

export interface ModelLocation {
  readonly bucket: string;
  /** Ends in `/` (or is empty). */
  readonly prefix: string;
  readonly endpointName: string;
}

/**
 * TargetModel of an artifact: its file under the biome's model prefix, relative to the model location
 * (`<biome>/<name>-<sha>.tar.gz`, the same text as its landing key).
 */
export function targetModel(target: ModelTarget): string {
  const model = `${target.scope.modelPrefix('')}${artifactFileName('model', target.name, target.sha)}`;
  // Canonical by construction (the key passed the grammar); checked anyway, because the endpoint's
  // IAM condition is a wildcard that a non-canonical path (`alice/../bob7/...`) would still match.
  const problem = targetModelProblem(model, target.scope.biome);
  if (problem) throw Stop.rejected(`${problem}; nothing was copied or invoked`);
  return model;
}

/** The model's object key on the model location: SageMaker loads `<location prefix><TargetModel>`. */
export function modelObjectKey(location: ModelLocation, target: ModelTarget): string {
  return `${location.prefix}${targetModel(target)}`;
}

function copySource(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  return versionId ? `${path}?versionId=${encodeURIComponent(versionId)}` : path;
}

/**
 * Copies the model with `If-None-Match: *`, so S3 itself refuses to overwrite. Returns `copied`, or
 * `present` when an object of that name already exists. The copy keeps the landing object's user
 * metadata (CopyObject's default), so the copy's commit-sha says which commit it holds.
 */
export async function copyModel(
  s3: S3Client,
  location: ModelLocation,
  target: ModelTarget,
  budget: Budget,
): Promise<'copied' | 'present'> {
  const key = modelObjectKey(location, target);
  try {
    await budget.within(`copying the model to ${key}`, (abortSignal) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: location.bucket,
          Key: key,
          CopySource: copySource(target.bucket, target.key, target.versionId),
          IfNoneMatch: '*',
        }),
        { abortSignal },
      ),
    );
    return 'copied';
  } catch (e) {
    if (nameOf(e) === 'PreconditionFailed' || httpStatusOf(e) === 412) return 'present';
    throw e;
  }
}

/**
 * The commit an existing model object holds (its `commit-sha` metadata), or undefined when it has
 * none. Object names depend only on biome, name and SHA, so the same SHA means the same model: a
 * rollback (a new publication of an old SHA) or a retry after the copy already succeeded.
 */
export async function existingModelCommit(
  s3: S3Client,
  location: ModelLocation,
  target: ModelTarget,
): Promise<string | undefined> {
  const key = modelObjectKey(location, target);
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: key }));
    return head.Metadata?.[ARTIFACT_METADATA.commitSha];
  } catch (e) {
    if (nameOf(e) === 'NotFound' || httpStatusOf(e) === 404) {
      throw new Retryable(`model object ${key} refused the copy as existing but is not found now`);
    }
    throw e;
  }
}

export interface WarmUpOptions {
  readonly attempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** What is left of the invocation; caps every attempt and every backoff. */
  readonly budget: Budget;
}

/**
 * One invocation of the new TargetModel, so the first real request does not pay the load. The first
 * call loads the model and may answer ModelNotReadyException: retried with backoff. A model error is
 * final (the model does not serve); running out of retries is not (the platform retries the event).
 */
export async function warmUp(
  sagemaker: SageMakerRuntimeClient,
  location: ModelLocation,
  registration: ModelRegistration,
  target: ModelTarget,
  options: WarmUpOptions,
): Promise<void> {
  const warm = registration.warmUp;
  if (!warm) return;
  const step = `the warm-up of ${targetModel(target)} on endpoint ${location.endpointName}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await options.budget.within(step, (abortSignal) =>
        sagemaker.send(
          new InvokeEndpointCommand({
            EndpointName: location.endpointName,
            TargetModel: targetModel(target),
            ContentType: warm.contentType,
            Body: new TextEncoder().encode(warm.body),
          }),
          { abortSignal },
        ),
      );
      return;
    } catch (e) {
      const name = nameOf(e);
      if (name === 'ModelNotReadyException' && attempt < options.attempts) {
        const delay = Math.min(2 ** attempt * 1000, 20_000);
        options.budget.left(`retrying ${step}`, delay + MIN_STEP_MS);
        await options.sleep(delay);
        continue;
      }
      if (name === 'ModelError' || name === 'ValidationError') {
        throw Stop.failed(
          `warm-up of ${targetModel(target)} on endpoint ${location.endpointName} failed (${name}: ${messageOf(e)}); pointer unchanged; fix the model and publish a new commit`,
        );
      }
      throw e;
    }
  }
}

/** Moves the biome's pointer to the new TargetModel. */
export async function movePointer(
  ssm: SSMClient,
  registration: ModelRegistration,
  target: ModelTarget,
): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: registration.pointerParameter,
      Value: targetModel(target),
      Type: 'String',
      Overwrite: true,
    }),
  );
}
