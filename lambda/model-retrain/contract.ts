/**
 * What the train workflow (lib/workload/biome/train-workflow.ts) and the model-retrain function agree
 * on: the events each step sends, what Prepare returns for the training job, and the job's channels
 * and paths inside the SageMaker container (the construct cites the toolkit source they follow).
 * Pure: zod and the shared grammar only.
 */
import * as z from 'zod/mini';
import { SHA_PATTERN } from '../shared/grammar';
import { MODEL_ARCHIVE_FILES } from '../shared/model-archive';

export const RETRAIN_ACTIONS = { prepare: 'prepare', deliver: 'deliver' } as const;

/** The job's input channels: `/opt/ml/input/data/<channel>/` in the container. */
export const TRAINING_CHANNELS = {
  /** The model's training data (CSV files): train.py reads `SM_CHANNEL_TRAIN`. */
  train: 'train',
  /** The live archive (the promoted code): one object, downloaded by SageMaker itself. */
  code: 'code',
} as const;

/** Where SageMaker puts a File-mode channel's objects. */
export const CONTAINER_INPUT_DIR = '/opt/ml/input/data';

/** The script the container's training toolkit runs: the archive's `train.py`. */
export const TRAINING_PROGRAM = MODEL_ARCHIVE_FILES.training;

/** What SageMaker writes under the job's output path: `<output>/<job name>/output/model.tar.gz`. */
export function trainingOutputKey(outputPrefix: string, jobName: string): string {
  return `${outputPrefix}${jobName}/output/model.tar.gz`;
}

/** The workflow's input: `{ "model": "<name>" }`. */
export const retrainInputSchema = z.object({
  model: z.string().check(z.minLength(1, 'must name the model to retrain')),
});

/** What Prepare returns (the workflow keeps it at `$.prepared`) and Deliver gets back. */
export const preparedSchema = z.object({
  model: z.string(),
  /** The commit whose promoted training code this run uses (the live archive's). */
  commit: z.string().check(z.regex(SHA_PATTERN, 'must be a 40-hex commit SHA')),
  jobName: z.string(),
  /** The live archive's key on the model bucket (`<model prefix><pointer>`). */
  liveKey: z.string(),
  /** `s3://<model bucket>/<liveKey>`: the `code` channel. */
  codeUri: z.string(),
  /** `s3://<model bucket>/training-data/<biome>/<model>/`: the `train` channel. */
  dataUri: z.string(),
  /** `s3://<model bucket>/training-output/<biome>/`: the job's output path. */
  outputUri: z.string(),
  /** The live archive as the `code` channel holds it in the container (`sagemaker_submit_directory`). */
  submitDirectory: z.string(),
});
export type Prepared = z.infer<typeof preparedSchema>;

export const prepareEventSchema = z.object({
  action: z.literal(RETRAIN_ACTIONS.prepare),
  /** The execution's input, whole: a missing `model` is this function's named error, not a States.Runtime. */
  input: z.unknown(),
});

export const deliverEventSchema = z.object({
  action: z.literal(RETRAIN_ACTIONS.deliver),
  prepared: preparedSchema,
  /** The state machine execution's name (`$$.Execution.Name`): the object's pipeline-execution-id. */
  execution: z.string().check(z.minLength(1, 'must be set')),
});

export const retrainEventSchema = z.discriminatedUnion('action', [prepareEventSchema, deliverEventSchema]);
export type RetrainEvent = z.infer<typeof retrainEventSchema>;

/** What Deliver returns: the landing key, the retraining id and the metrics training measured. */
export interface Delivered {
  readonly key: string;
  readonly id: string;
  readonly metrics: Record<string, number>;
}
