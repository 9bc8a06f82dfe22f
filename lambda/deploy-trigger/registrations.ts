/**
 * Looks up what a biome registered for a name (DESIGN.md "Shared stack <-> biome stack contract").
 * Tells an unknown biome (nothing under `/<app>/<env>/<biome>/`) from an unknown name, because the
 * fixes differ: deploy the biome stack, or add the service/model to it.
 */
import { GetParameterCommand, GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod/mini';
import {
  biomeParameterRoot,
  LIVE_ALIAS,
  type ModelRegistration,
  modelPointerName,
  modelRegistrationName,
  type ServiceRegistration,
  serviceRegistrationName,
} from '../shared/contracts';
import type { ArtifactKind } from '../shared/grammar';
import { issueLines } from '../shared/issues';
import { Stop } from './outcome';

const serviceSchema = z.object({
  functionName: z.string().check(z.minLength(1)),
  alias: z.literal(LIVE_ALIAS),
  smokeCheck: z.optional(z.object({ payload: z.record(z.string(), z.unknown()) })),
});

const modelSchema = z.object({
  pointerParameter: z.string().check(z.minLength(1)),
  warmUp: z.optional(z.object({ contentType: z.string().check(z.minLength(1)), body: z.string() })),
});

/** GetParametersByPath may answer a page with no parameters and a NextToken; follow a few. */
export const BIOME_LOOKUP_PAGES = 5;

export interface Scope {
  readonly appName: string;
  readonly envName: string;
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

async function readRegistration(
  ssm: SSMClient,
  scope: Scope,
  kind: ArtifactKind,
  biome: string,
  name: string,
): Promise<unknown> {
  const parameter =
    kind === 'service'
      ? serviceRegistrationName(scope.appName, scope.envName, biome, name)
      : modelRegistrationName(scope.appName, scope.envName, biome, name);
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: parameter }));
    value = out.Parameter?.Value;
  } catch (e) {
    if ((e as Error).name !== 'ParameterNotFound') throw e;
  }
  if (value === undefined) {
    const root = biomeParameterRoot(scope.appName, scope.envName, biome);
    if (!(await anyParameterUnder(ssm, root))) {
      throw Stop.rejected(
        `unknown biome "${biome}" in ${scope.envName}: nothing is registered under ${root}/; deploy its stack first (cdk deploy -c biome=${biome} -c env=${scope.envName}), then re-run the pipeline to publish the artifact again`,
      );
    }
    throw Stop.rejected(
      `unknown ${kind} "${name}" in biome "${biome}": ${parameter} does not exist; add the ${kind} to the biome stack, deploy it (cdk deploy -c biome=${biome} -c env=${scope.envName}), then re-run the pipeline to publish the artifact again`,
    );
  }
  try {
    return JSON.parse(value);
  } catch {
    throw Stop.rejected(`registration ${parameter} is not JSON; redeploy the biome stack "${biome}"`);
  }
}

export async function serviceRegistration(
  ssm: SSMClient,
  scope: Scope,
  biome: string,
  name: string,
): Promise<ServiceRegistration> {
  const raw = await readRegistration(ssm, scope, 'service', biome, name);
  const parsed = serviceSchema.safeParse(raw);
  if (!parsed.success) {
    throw Stop.rejected(
      `registration of service "${name}" in biome "${biome}" is invalid (${issueLines(parsed.error).join('; ')}); redeploy the biome stack`,
    );
  }
  return parsed.data;
}

export async function modelRegistration(
  ssm: SSMClient,
  scope: Scope,
  biome: string,
  name: string,
): Promise<ModelRegistration> {
  const raw = await readRegistration(ssm, scope, 'model', biome, name);
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) {
    throw Stop.rejected(
      `registration of model "${name}" in biome "${biome}" is invalid (${issueLines(parsed.error).join('; ')}); redeploy the biome stack`,
    );
  }
  // IAM lets the trigger write every biome's pointers; this keeps one biome from moving another's.
  const expected = modelPointerName(scope.appName, scope.envName, biome, name);
  if (parsed.data.pointerParameter !== expected) {
    throw Stop.rejected(
      `model "${name}" in biome "${biome}" registers pointer ${parsed.data.pointerParameter}, but it must be ${expected}; fix the biome stack`,
    );
  }
  return parsed.data;
}
