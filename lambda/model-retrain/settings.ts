/**
 * The model-retrain function's settings, parsed once from its environment (names in ./env). A missing
 * or bad value fails the cold start with the variable's name, never a run half-way through.
 */
import * as z from 'zod/mini';
import { artifactNameProblem } from '../shared/grammar';
import { biomeNameSchema, envNameSchema, issueLines } from '../shared/issues';
import { BiomeScope } from '../shared/scope';
import { RETRAIN_ENV as ENV } from './env';

export interface Settings {
  /** App, environment and biome (from BIOMES_APP_NAME, BIOMES_ENV_NAME, BIOMES_BIOME). */
  readonly scope: BiomeScope;
  /** The models the biome serves. */
  readonly models: readonly string[];
  readonly modelBucket: string;
  /** Ends in `/`. */
  readonly modelPrefix: string;
  readonly landingBucket: string;
  readonly landingKeyArn: string;
}

const required = z.string().check(z.minLength(1, 'must be set'));

const modelList = z.string().check(
  z.superRefine((value, ctx) => {
    const names = value.split(',');
    if (value === '') {
      ctx.addIssue({ code: 'custom', message: 'must name at least one model (comma-separated)' });
      return;
    }
    for (const name of names) {
      const problem = artifactNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: `model ${problem}` });
    }
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', message: 'must not name a model twice' });
  }),
);

const schema = z.object({
  [ENV.appName]: required,
  [ENV.envName]: envNameSchema,
  [ENV.biome]: biomeNameSchema,
  [ENV.models]: modelList,
  [ENV.modelBucket]: required,
  [ENV.modelPrefix]: z.string().check(z.regex(/^(.+\/)?$/, 'must be empty or end in "/"')),
  [ENV.landingBucket]: required,
  [ENV.landingKeyArn]: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/, 'must be a KMS key ARN')),
});

export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = issueLines(result.error).join('; ');
    throw new Error(`model-retrain environment is invalid (${problems}); redeploy the biome stack.`);
  }
  const e = result.data;
  return {
    scope: new BiomeScope(e[ENV.appName], e[ENV.envName], e[ENV.biome]),
    models: e[ENV.models].split(','),
    modelBucket: e[ENV.modelBucket],
    modelPrefix: e[ENV.modelPrefix],
    landingBucket: e[ENV.landingBucket],
    landingKeyArn: e[ENV.landingKeyArn],
  };
}
