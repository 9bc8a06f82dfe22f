/**
 * Properties of `Custom::BiomeModels`, written by the ModelNamespace construct and parsed by the
 * handler. CloudFormation passes every property as a string.
 */
import * as z from 'zod/mini';
import type { EnvName } from '../shared/grammar';
import { biomeNameSchema, envNameSchema, parseResourceProperties } from '../shared/issues';

export const RESOURCE_TYPE = 'Custom::BiomeModels';

export const PROPERTY = {
  bucket: 'Bucket',
  /** The model location's prefix (`''` or ending in `/`); the biome's objects live under `<prefix><biome>/`. */
  modelPrefix: 'ModelPrefix',
  env: 'Env',
  biome: 'Biome',
} as const;

/** Where a biome's models live: `<modelPrefix><biome>/`. The trailing slash keeps `alice` off `alice-b`. */
export function biomeModelPrefix(modelPrefix: string, biome: string): string {
  return `${modelPrefix}${biome}/`;
}

export const propertiesSchema = z.object({
  [PROPERTY.bucket]: z
    .string()
    .check(
      z.regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be an S3 bucket name; check the shared parameter inference/model-bucket-name',
      ),
    ),
  [PROPERTY.modelPrefix]: z
    .string()
    .check(
      z.regex(
        /^([A-Za-z0-9!_.*'()-]+\/)*$/,
        'must be "" or a key prefix ending in "/" (e.g. "models/"); check the shared parameter inference/model-prefix',
      ),
    ),
  [PROPERTY.env]: envNameSchema,
  [PROPERTY.biome]: biomeNameSchema,
});

export interface BiomeModelsProperties {
  readonly bucket: string;
  readonly modelPrefix: string;
  readonly env: EnvName;
  readonly biome: string;
}

export function parseProperties(raw: unknown): BiomeModelsProperties {
  const p = parseResourceProperties(propertiesSchema, raw, RESOURCE_TYPE);
  return {
    bucket: p[PROPERTY.bucket],
    modelPrefix: p[PROPERTY.modelPrefix],
    env: p[PROPERTY.env],
    biome: p[PROPERTY.biome],
  };
}
