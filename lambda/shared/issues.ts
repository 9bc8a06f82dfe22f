/**
 * Formats zod issues for the messages handlers return, and the schema pieces several handlers share. Every module that reports zod issues imports
 * this one, so the English messages are loaded before any parse.
 *
 * zod/mini loads no locale: without one, every issue reads "Invalid input". The English locale adds
 * about 3 KB to a bundle (measured), and gives the same messages classic zod gave. Import `en` by
 * name: `z.locales.en()` keeps every locale in the bundle (about 260 KB).
 */
import * as z from 'zod/mini';
import { type core, config } from 'zod/mini';
import { envNameProblem } from './environments';
import { biomeNameProblem } from './grammar';
import { en } from 'zod/locales';

config(en());

/** One `path: message` line per issue; `root` stands for the path of the value itself. */
export function issueLines(error: { readonly issues: readonly core.$ZodIssue[] }, root = ''): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`);
}

/**
 * An environment name, by the grammar of environment names (environments are data in cdk.json, so
 * no fixed list); an off-grammar or reserved name fails with the rule it breaks.
 */
export const envNameSchema = z.string().check(
  z.superRefine((env, ctx) => {
    const problem = envNameProblem(env);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/**
 * A boolean custom-resource property (`what` it means, for the message): CloudFormation passes
 * every property as a string, so the construct writes `"true"` or `"false"` and nothing else is
 * accepted, a missing property included.
 */
export function booleanPropertySchema(what: string) {
  return z.enum(['true', 'false'], { error: `must be the string "true" or "false" (${what})` });
}

/** A biome name, `main` included; an off-grammar name fails with the rule it breaks. */
export const biomeNameSchema = z.string().check(
  z.superRefine((biome, ctx) => {
    const problem = biomeNameProblem(biome, { allowMainline: true });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** Parses custom-resource properties, or throws an error that names each bad property. */
export function parseResourceProperties<T extends z.ZodMiniType>(
  schema: T,
  raw: unknown,
  resourceType: string,
): z.infer<T> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = issueLines(result.error, 'properties').map((line) => `  - ${line}`);
    throw new Error(`Invalid ${resourceType} properties:\n${lines.join('\n')}`);
  }
  return result.data;
}
