/**
 * The names of the errors the model-retrain function throws on purpose. Lambda reports `error.name`
 * as the error type, so the train workflow (lib/workload/biome/train-workflow.ts) catches them by
 * these names; each message says what is wrong and what to do.
 */
export const RETRAIN_ERRORS = {
  /** The event is not what the workflow sends (an execution started with the wrong input). */
  badInput: 'BadInput',
  /** The model is not one the biome serves. */
  notServed: 'ModelNotServed',
  /** The biome's pointer is `none`: there is no promoted code to retrain with. */
  noLiveModel: 'NoLiveModel',
  /** The live archive cannot be used (off-grammar pointer, no commit metadata, missing files). */
  liveArchiveUnusable: 'LiveArchiveUnusable',
  /** Nothing under the model's training-data prefix. */
  noTrainingData: 'NoTrainingData',
  /** The training job's model.tar.gz is missing or not a readable archive. */
  badTrainingOutput: 'BadTrainingOutput',
  /** The retrained model misses its quality bar (or cannot be packaged): nothing is delivered. */
  belowBar: 'BelowBar',
} as const;

export type RetrainErrorName = (typeof RETRAIN_ERRORS)[keyof typeof RETRAIN_ERRORS];

/** The errors Prepare refuses a run with; the workflow ends them in its CannotRetrain state. */
export const PREPARE_REFUSALS: readonly RetrainErrorName[] = [
  RETRAIN_ERRORS.badInput,
  RETRAIN_ERRORS.notServed,
  RETRAIN_ERRORS.noLiveModel,
  RETRAIN_ERRORS.liveArchiveUnusable,
  RETRAIN_ERRORS.noTrainingData,
];
