/**
 * Looks up what a biome registered for a name (docs/design.md "Shared stack <-> biome stack contract").
 * Tells an unknown biome (nothing under `/<app>/<env>/<biome>/`) from an unknown name, because the
 * fixes differ: deploy the biome stack, or add the service/model to it. Every parameter name comes
 * from the biome's {@link BiomeScope}.
 */
import { GetParameterCommand, GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod/mini';
import { LIVE_ALIAS, type ModelRegistration, type ServiceRegistration } from '../shared/contracts';
import type { ArtifactKind } from '../shared/grammar';
import { issueLines } from '../shared/issues';
import type { BiomeScope } from '../shared/scope';
import { biomeDeployCommand, nameOf } from './errors';
import { Stop } from './outcome';

const serviceSchema = z.object({
  functionName: z.string().check(z.minLength(1)),
  alias: z.literal(LIVE_ALIAS),
  smokeCheck: z.optional(z.object({ payload: z.record(z.string(), z.unknown()) })),
  canary: z.optional(
    z.object({
      application: z.string().check(z.minLength(1)),
      deploymentGroup: z.string().check(z.minLength(1)),
      alarms: z.array(z.string().check(z.minLength(1))).check(z.minLength(1), z.maxLength(10)),
      percent: z.number().check(z.int(), z.minimum(1), z.maximum(99)),
      bakeMinutes: z.number().check(z.int(), z.positive()),
    }),
  ),
});

// Not strict: a registration written before the validation replaced the warm-up still holds a
// `warmUp` key; it parses, and the key is dropped (every model is validated on the endpoint now).
const modelSchema = z.object({
  pointerParameter: z.string().check(z.minLength(1)),
  bake: z.optional(
    z.object({
      minutes: z.number().check(z.int(), z.positive()),
      alarms: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    }),
  ),
});

/** What a biome registered for one name: a service or a model, told apart by `kind`. */
export type Registration =
  | { readonly kind: 'service'; readonly registration: ServiceRegistration }
  | { readonly kind: 'model'; readonly registration: ModelRegistration };

/**
 * The one parse path of both kinds: the artifact's kind (from its key) picks the schema, and the
 * result is already the {@link Registration} union, narrowed by `kind`.
 */
const registrationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('service'), registration: serviceSchema }),
  z.object({ kind: z.literal('model'), registration: modelSchema }),
]);

const OTHER_KIND: Readonly<Record<ArtifactKind, ArtifactKind>> = { service: 'model', model: 'service' };

/** GetParametersByPath may answer a page with no parameters and a NextToken; follow a few. */
export const BIOME_LOOKUP_PAGES = 5;

/** The SSM parameter a biome registers a service or a model under. */
export function registrationParameter(scope: BiomeScope, kind: ArtifactKind, name: string): string {
  return kind === 'service' ? scope.serviceRegistration(name) : scope.modelRegistration(name);
}

/** Whether anything is registered under `root`. Throws (retryable) when the pages run out undecided. */
async function anyParameterUnder(ssm: SSMClient, root: string): Promise<boolean> {
  let token: string | undefined;
  for (let page = 0; page < BIOME_LOOKUP_PAGES; page++) {
    const out = await ssm.send(
      new GetParametersByPathCommand({
        Path: root,
        Recursive: true,
        MaxResults: 10,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    if ((out.Parameters ?? []).length > 0) return true;
    token = out.NextToken;
    if (!token) return false;
  }
  throw new Error(
    `could not tell whether anything is registered under ${root}/: ${BIOME_LOOKUP_PAGES} pages of GetParametersByPath returned no parameter but another NextToken`,
  );
}

/** The JSON value of the registration parameter; an unknown biome or name is a rejection that says which. */
async function readRegistrationJson(
  ssm: SSMClient,
  scope: BiomeScope,
  kind: ArtifactKind,
  name: string,
  parameter: string,
): Promise<unknown> {
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: parameter }));
    value = out.Parameter?.Value;
  } catch (e) {
    if (nameOf(e) !== 'ParameterNotFound') throw e;
  }
  const { biome, env } = scope;
  if (value === undefined) {
    const root = scope.parameterRoot;
    if (!(await anyParameterUnder(ssm, root))) {
      throw Stop.rejected(
        `unknown biome "${biome}" in ${env}: nothing is registered under ${root}/; deploy its stack first (${biomeDeployCommand(scope)}), then re-run the pipeline to publish the artifact again`,
      );
    }
    throw Stop.rejected(
      `unknown ${kind} "${name}" in biome "${biome}": ${parameter} does not exist; add the ${kind} to the biome stack, deploy it (${biomeDeployCommand(scope)}), then re-run the pipeline to publish the artifact again`,
    );
  }
  try {
    return JSON.parse(value);
  } catch {
    throw Stop.rejected(`registration ${parameter} is not JSON; redeploy the biome stack "${biome}"`);
  }
}

/**
 * Checks what `parameter` held against the schema of `kind`. A registration of the other kind (a
 * service's read for a model key, say) is refused as such, not as a list of missing fields.
 */
export function parseRegistration(
  scope: BiomeScope,
  kind: ArtifactKind,
  name: string,
  raw: unknown,
  parameter = registrationParameter(scope, kind, name),
): Registration {
  const { biome } = scope;
  const parsed = registrationSchema.safeParse({ kind, registration: raw });
  if (!parsed.success) {
    const other = OTHER_KIND[kind];
    if (registrationSchema.safeParse({ kind: other, registration: raw }).success) {
      throw Stop.rejected(
        `registration ${parameter} holds a ${other} registration, not a ${kind} registration; the biome stack registered ${kind} "${name}" of biome "${biome}" wrongly: fix it and redeploy it (${biomeDeployCommand(scope)})`,
      );
    }
    // Paths relative to the registration itself, not to the envelope that carries its kind.
    const issues = parsed.error.issues.map((issue) => ({ ...issue, path: issue.path.slice(1) }));
    throw Stop.rejected(
      `registration of ${kind} "${name}" in biome "${biome}" is invalid (${issueLines({ issues }).join('; ')}); redeploy the biome stack`,
    );
  }
  const found = parsed.data;
  if (found.kind === 'model') {
    // IAM lets the trigger write every biome's pointers; this keeps one biome from moving another's.
    const expected = scope.modelPointer(name);
    if (found.registration.pointerParameter !== expected) {
      throw Stop.rejected(
        `model "${name}" in biome "${biome}" registers pointer ${found.registration.pointerParameter}, but it must be ${expected}; fix the biome stack`,
      );
    }
  }
  return found;
}

/** What the biome of `scope` registered for the `kind` named `name`: read from SSM, then parsed. */
export async function readRegistration(
  ssm: SSMClient,
  scope: BiomeScope,
  kind: ArtifactKind,
  name: string,
): Promise<Registration> {
  const parameter = registrationParameter(scope, kind, name);
  const raw = await readRegistrationJson(ssm, scope, kind, name, parameter);
  return parseRegistration(scope, kind, name, raw, parameter);
}
