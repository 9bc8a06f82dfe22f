/**
 * Properties of `Custom::BiomeModels`, written by the ModelNamespace construct and parsed by the
 * handler. CloudFormation passes every property as a string.
 */
import * as z from 'zod/mini';
import { biomeNameProblem, ENV_NAMES, type EnvName } from '../shared/grammar';
import { issueLines } from '../shared/issues';

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
  [PROPERTY.env]: z.enum(ENV_NAMES, { error: `must be one of ${ENV_NAMES.join(', ')}` }),
  [PROPERTY.biome]: z.string().check(
    z.superRefine((biome, ctx) => {
      const problem = biomeNameProblem(biome, { allowMainline: true });
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ),
});

export interface BiomeModelsProperties {
  readonly bucket: string;
  readonly modelPrefix: string;
  readonly env: EnvName;
  readonly biome: string;
}

export function parseProperties(raw: unknown): BiomeModelsProperties {
  const result = propertiesSchema.safeParse(raw);
  if (!result.success) {
    const lines = issueLines(result.error, 'properties').map((line) => `  - ${line}`);
    throw new Error(`Invalid ${RESOURCE_TYPE} properties:\n${lines.join('\n')}`);
  }
  const p = result.data;
  return {
    bucket: p[PROPERTY.bucket],
    modelPrefix: p[PROPERTY.modelPrefix],
    env: p[PROPERTY.env],
    biome: p[PROPERTY.biome],
  };
}
