/** Environment of the model-retrain function: the construct (lib/workload/biome/train-workflow.ts) sets these, the handler reads them. */
export const RETRAIN_ENV = {
  appName: 'BIOMES_APP_NAME',
  envName: 'BIOMES_ENV_NAME',
  biome: 'BIOMES_BIOME',
  /** The models the biome serves, comma-separated (one `models/<name>/` folder each). */
  models: 'BIOMES_MODELS',
  /** The model location's bucket: live archives, training data and training output. */
  modelBucket: 'BIOMES_MODEL_BUCKET',
  /** Key prefix of the model location, ending in `/` (`models/`); a pointer is relative to it. */
  modelPrefix: 'BIOMES_MODEL_PREFIX',
  /** The environment's landing bucket, where a retrained archive is delivered like a published one. */
  landingBucket: 'BIOMES_LANDING_BUCKET',
  /** ARN of the landing bucket's KMS key: the delivered object is encrypted with it. */
  landingKeyArn: 'BIOMES_LANDING_KEY_ARN',
} as const;
