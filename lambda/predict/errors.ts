/**
 * Error names the predict service throws. Lambda reports `error.name` as the error type, so Step
 * Functions matches these names in Retry and Catch (lib/workload/biome/workflow.ts imports them).
 */
export const PREDICT_ERRORS = {
  /** The request is not a valid sample; retrying cannot help. */
  invalidRequest: 'InvalidPredictRequest',
  /** The biome has no live model yet (pointer `none` or missing). */
  noModel: 'NoModelDeployed',
  /** The endpoint was still loading the model after every in-function retry; retry later. */
  modelNotReady: 'ModelNotReady',
  /** The pointer names a TargetModel that is not a canonical model object of this biome. */
  invalidModelPointer: 'InvalidModelPointer',
  /**
   * The environment's endpoint sleeps outside its hours (environments.<env>.inference.schedule): not
   * retried by the workflow, the message says when it wakes and how to wake it now.
   */
  inferenceAsleep: 'InferenceAsleep',
  /** The endpoint refused the request or answered something unexpected. */
  endpointFailed: 'EndpointFailed',
} as const;
