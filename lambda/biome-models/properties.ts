/**
 * Properties of `Custom::BiomeModels`, written by the ModelNamespace construct and parsed by the
 * handler. CloudFormation passes every property as a string.
 */
import * as z from 'zod/mini';
import { protectedProperty } from '../shared/environments';
import {
  biomeNameSchema,
  booleanPropertySchema,
  envNameSchema,
  parseResourceProperties,
} from '../shared/issues';
import { BiomeScope } from '../shared/scope';

export const RESOURCE_TYPE = 'Custom::BiomeModels';

export const PROPERTY = {
  bucket: 'Bucket',
  /** The model location's prefix (`''` or ending in `/`); the biome's objects live under `<prefix><biome>/`. */
  modelPrefix: 'ModelPrefix',
  env: 'Env',
  biome: 'Biome',
  /**
   * `true` or `false`: the environment's `protected` flag (biomes.promotion in cdk.json). The
   * handler never deletes the models of a protected biome (`isProtectedBiome` of
   * lambda/shared/environments.ts).
   */
  protected: 'Protected',
} as const;

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
  [PROPERTY.protected]: z.optional(booleanPropertySchema("the environment's protected flag")),
});

export interface BiomeModelsProperties {
  readonly bucket: string;
  readonly modelPrefix: string;
  readonly env: string;
  readonly biome: string;
  /** The environment's `protected` flag. */
  readonly protected: boolean;
}

export function parseProperties(raw: unknown): BiomeModelsProperties {
  const p = parseResourceProperties(propertiesSchema, raw, RESOURCE_TYPE);
  return {
    bucket: p[PROPERTY.bucket],
    modelPrefix: p[PROPERTY.modelPrefix],
    env: p[PROPERTY.env],
    biome: p[PROPERTY.biome],
    protected: protectedProperty(p[PROPERTY.protected], p[PROPERTY.biome]),
  };
}

/** The app {@link biomeModelPrefix} builds its scope with; the model prefix does not depend on it. */
const ANY_APP = 'biomes';

/**
 * Where the biome's models live: {@link BiomeScope.modelPrefix} of the model location's prefix, as
 * the construct derives it. On one model location it depends on the biome alone (the location
 * belongs to one app in one environment), so the resource carries no App property; any app gives
 * the same prefix, which a test holds BiomeScope to.
 */
export function biomeModelPrefix(
  props: Pick<BiomeModelsProperties, 'modelPrefix' | 'env' | 'biome'>,
): string {
  return new BiomeScope(ANY_APP, props.env, props.biome).modelPrefix(props.modelPrefix);
}
