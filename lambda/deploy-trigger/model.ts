/**
 * Model deploy (docs/design.md "The deploy trigger", step 4): read the quality bar and metrics at the
 * head of the landing object, copy it under the biome's prefix of the multi-model endpoint's model
 * location without ever overwriting, validate it on the endpoint with the rows of its bar, then move
 * the biome's pointer. Every early exit leaves the pointer alone.
 */
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ARTIFACT_METADATA, type ModelRegistration } from '../shared/contracts';
import { artifactFileName, targetModelProblem } from '../shared/grammar';
import {
  archiveQuality,
  describeMismatch,
  firstRowMismatch,
  HEAD_BYTES,
  ModelArchiveError,
  type Quality,
  readTarGz,
  shown,
  validationRequest,
} from '../shared/model-archive';
import { type InferenceState, isEndpointMissing } from '../shared/inference-schedule';
import { getInferenceState } from '../shared/inference-state';
import type { EnvScope } from '../shared/scope';
import { type Budget, MIN_STEP_MS } from './budget';
import { httpStatusOf, messageOf, nameOf } from './errors';
import { type ArtifactTarget, Retryable, Stop } from './outcome';

/** What the validation request is and what it asks back (models/README.md "Errors"). */
const JSON_TYPE = 'application/json';

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

/** What the head of a model archive says: its quality bar and what its build measured. */
export interface ArchiveHead {
  readonly quality: Quality;
  readonly metrics: Record<string, number>;
}

/**
 * Reads the quality bar and the metrics of the landing object before anything is copied: one ranged
 * GET of its first {@link HEAD_BYTES} (quality.json and metrics.json are the first two entries of
 * every archive the build writes), parsed as the start of an archive when the object is bigger. An
 * archive that is not one, or lacks either file, is rejected: nothing lands in the model location.
 *
 * @param size the object's size, from the HeadObject the trigger already made.
 */
export async function readArchiveHead(
  s3: S3Client,
  target: ModelTarget,
  size: number,
  budget: Budget,
): Promise<ArchiveHead> {
  let bytes: Uint8Array;
  try {
    bytes = await budget.within(
      `reading the head of the model archive ${target.key}`,
      async (abortSignal) => {
        const out = await s3.send(
          new GetObjectCommand({
            Bucket: target.bucket,
            Key: target.key,
            Range: `bytes=0-${HEAD_BYTES - 1}`,
            ...(target.versionId ? { VersionId: target.versionId } : {}),
          }),
          { abortSignal },
        );
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array(0);
      },
    );
  } catch (e) {
    const status = httpStatusOf(e);
    if (['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes(nameOf(e)) || status === 404 || status === 405) {
      throw Stop.rejected(
        `object ${target.key} (version ${target.versionId ?? 'none'}) no longer exists or is a delete marker; nothing was copied and the pointer is unchanged`,
      );
    }
    throw e;
  }
  const where = `model archive ${target.key}`;
  const refused = (e: unknown, message: string) => {
    if (!(e instanceof ModelArchiveError)) return e;
    return Stop.rejected(`${message}; nothing was copied and the pointer is unchanged`);
  };
  let files: Map<string, Uint8Array>;
  try {
    files = readTarGz(bytes, { partial: size > HEAD_BYTES });
  } catch (e) {
    // These messages say what is wrong with the bytes, not whose they are.
    throw refused(e, `${where}: ${messageOf(e)}`);
  }
  try {
    return archiveQuality(files, where);
  } catch (e) {
    throw refused(e, messageOf(e));
  }
}

/**
 * The endpoint does not exist (deleted while inference sleeps, or by hand): the deploy waits for it
 * (lib/workload/shared/inference-endpoint.ts delivers it again once the endpoint is in service).
 */
export class EndpointAbsent extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointAbsent';
  }
}

/**
 * The environment's inference state as its endpoint's owner keeps it (EnvScope.inferenceStateParameter).
 * Undefined when there is none (an environment deployed before the owner existed) or it cannot be read
 * as a state: the validation then finds out on the endpoint itself.
 */
export async function readInferenceState(
  ssm: SSMClient,
  scope: EnvScope,
  warn: (message: string, extra: Record<string, unknown>) => void,
): Promise<InferenceState | undefined> {
  try {
    return await getInferenceState(ssm, scope.inferenceStateParameter);
  } catch (e) {
    warn('could not read the inference state', {
      parameter: scope.inferenceStateParameter,
      error: messageOf(e),
    });
    return undefined;
  }
}

export interface ValidationOptions {
  readonly attempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** What is left of the invocation; caps every attempt and every backoff. */
  readonly budget: Budget;
}

/**
 * Validates the new TargetModel on the endpoint before the pointer moves (models/README.md
 * "Validation on the endpoint"; the rows are those of the archive's quality.json, whose format
 * "Adding a model" there describes): one request with every row's instance in order
 * (`{"instances": [...]}`), whose answer (`{"predictions": [...]}`) must match each row's expected
 * prediction within the bar's tolerance. It warms the model too, so the first real request does not
 * pay the load. The first call loads the model and may answer ModelNotReadyException: retried with
 * backoff. A model error, an answer that is not JSON or a row answered wrongly is final (the model
 * does not serve what its bar says); running out of retries is not (the platform retries the event).
 */
export async function validateOnEndpoint(
  sagemaker: SageMakerRuntimeClient,
  location: ModelLocation,
  target: ModelTarget,
  quality: Quality,
  options: ValidationOptions,
): Promise<void> {
  const model = targetModel(target);
  const what = `validation of ${model} on endpoint ${location.endpointName}`;
  const fix = `pointer unchanged; fix models/${target.name}/ and publish a new commit`;
  const step = `the ${what}`;
  const body = new TextEncoder().encode(validationRequest(quality));
  let answered: Uint8Array | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await options.budget.within(step, (abortSignal) =>
        sagemaker.send(
          new InvokeEndpointCommand({
            EndpointName: location.endpointName,
            TargetModel: model,
            ContentType: JSON_TYPE,
            Accept: JSON_TYPE,
            Body: body,
          }),
          { abortSignal },
        ),
      );
      answered = out.Body;
      break;
    } catch (e) {
      const name = nameOf(e);
      if (name === 'ModelNotReadyException' && attempt < options.attempts) {
        const delay = Math.min(2 ** attempt * 1000, 20_000);
        options.budget.left(`retrying ${step}`, delay + MIN_STEP_MS);
        await options.sleep(delay);
        continue;
      }
      if (isEndpointMissing(e)) {
        throw new EndpointAbsent(
          `endpoint ${location.endpointName} does not exist (${name}: ${messageOf(e)})`,
        );
      }
      if (name === 'ModelError' || name === 'ValidationError') {
        throw Stop.failed(`${what} failed (${name}: ${messageOf(e)}); ${fix}`);
      }
      throw e;
    }
  }
  const text = new TextDecoder().decode(answered ?? new Uint8Array(0));
  let answer: unknown;
  try {
    answer = JSON.parse(text) as unknown;
  } catch (e) {
    throw Stop.failed(`${what} failed: the answer is not JSON (${messageOf(e)}): ${shown(text)}; ${fix}`);
  }
  const mismatch = firstRowMismatch(quality, answer);
  if (mismatch) throw Stop.failed(`${what} failed: ${describeMismatch(mismatch)}; ${fix}`);
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
