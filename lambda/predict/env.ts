/**
 * Environment of the predict service: the variable names that both the CDK construct (which sets
 * them) and the handler (which reads them) import, so a rename is one edit.
 */
import { BIOME_SERVICE_ENV, readSettings } from '../shared/settings';

export const PREDICT_ENV = {
  ...BIOME_SERVICE_ENV,
  endpointName: 'BIOMES_ENDPOINT_NAME',
  /** SSM parameter holding the biome's live TargetModel (or `none`). */
  modelPointerParameter: 'BIOMES_MODEL_POINTER_PARAMETER',
} as const;

export type PredictSettings = { readonly [K in keyof typeof PREDICT_ENV]: string };

export function predictSettings(source: Record<string, string | undefined>): PredictSettings {
  return readSettings(PREDICT_ENV, source);
}

/** The model the predict service serves; the biome stack refuses to synthesize without `models/<name>/`. */
export const PREDICT_MODEL = 'demo-scorer';
