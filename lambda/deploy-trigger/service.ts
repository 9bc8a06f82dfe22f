/**
 * Microservice deploy (DESIGN.md "The deploy trigger", step 3): update code from the landing object,
 * wait for the update with the SDK waiter, publish a version described with the SHA, smoke-check that
 * version, and only then move alias `live`. Every early exit leaves `live` where it was.
 */
import {
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type LambdaClient,
  PublishVersionCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { LIVE_ALIAS, type ServiceRegistration, TAGS } from '../shared/contracts';
import { Stop } from './outcome';

export interface ServiceTarget {
  readonly biome: string;
  readonly name: string;
  readonly sha: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly envName: string;
  readonly appName: string;
}

export interface Prepared {
  readonly functionName: string;
  readonly functionArn: string;
  readonly aliasRevisionId?: string;
  readonly previousVersion?: string;
}

/** Checks the registered function really belongs to this biome and env before touching it. */
export async function prepareService(
  lambda: LambdaClient,
  registration: ServiceRegistration,
  target: ServiceTarget,
): Promise<Prepared> {
  const fn = await lambda.send(new GetFunctionCommand({ FunctionName: registration.functionName }));
  const tags = fn.Tags ?? {};
  const owner = { app: tags[TAGS.app], env: tags[TAGS.env], biome: tags[TAGS.biome] };
  if (
    owner.app !== target.appName ||
    owner.env !== target.envName ||
    owner.biome !== target.biome ||
    tags[TAGS.deployable] !== 'true'
  ) {
    throw Stop.rejected(
      `function ${registration.functionName} registered for service "${target.name}" is tagged app=${owner.app} env=${owner.env} biome=${owner.biome} deployable=${tags[TAGS.deployable]}, not a deployable function of biome "${target.biome}" in ${target.envName}; fix the biome stack's registration`,
    );
  }
  let aliasRevisionId: string | undefined;
  let previousVersion: string | undefined;
  try {
    const alias = await lambda.send(
      new GetAliasCommand({ FunctionName: registration.functionName, Name: LIVE_ALIAS }),
    );
    aliasRevisionId = alias.RevisionId;
    previousVersion = alias.FunctionVersion;
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    throw Stop.failed(
      `function ${registration.functionName} has no alias "${LIVE_ALIAS}"; the biome stack must create it`,
    );
  }
  return {
    functionName: registration.functionName,
    functionArn: fn.Configuration?.FunctionArn ?? registration.functionName,
    aliasRevisionId,
    previousVersion,
  };
}

export interface ServiceDeployOptions {
  /** Longest wait for an update to finish before the attempt counts as failed (and is retried). */
  readonly maxWaitSeconds: number;
}

/** Updates, publishes and smoke-checks; returns the version that passed. Does not move `live`. */
export async function publishAndCheck(
  lambda: LambdaClient,
  registration: ServiceRegistration,
  prepared: Prepared,
  target: ServiceTarget,
  options: ServiceDeployOptions,
): Promise<string> {
  const { functionName } = prepared;
  const updated = await lambda.send(
    new UpdateFunctionCodeCommand({
      FunctionName: functionName,
      S3Bucket: target.bucket,
      S3Key: target.key,
      S3ObjectVersion: target.versionId,
    }),
  );
  let revisionId: string | undefined;
  try {
    const waited = await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: options.maxWaitSeconds },
      { FunctionName: functionName },
    );
    revisionId = waited.reason?.Configuration?.RevisionId;
  } catch (e) {
    const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    if (conf.LastUpdateStatus === 'Failed') {
      throw Stop.failed(
        `code update of ${functionName} failed (${conf.LastUpdateStatusReasonCode ?? 'no code'}: ${conf.LastUpdateStatusReason ?? 'no reason'}); live unchanged; fix the package and publish a new commit`,
      );
    }
    throw e;
  }
  // CodeSha256 and RevisionId make Lambda refuse to publish if anyone changed the function since our update.
  const published = await lambda.send(
    new PublishVersionCommand({
      FunctionName: functionName,
      CodeSha256: updated.CodeSha256,
      RevisionId: revisionId,
      Description: `${target.sha} ${target.key}`.slice(0, 256),
    }),
  );
  const version = published.Version;
  if (!version) throw new Error(`PublishVersion of ${functionName} returned no version`);
  if (registration.smokeCheck) {
    const reason = await smokeCheck(lambda, functionName, version, registration.smokeCheck.payload);
    if (reason) {
      throw Stop.failed(
        `smoke check of ${functionName} version ${version} failed: ${reason}; live unchanged (still version ${prepared.previousVersion ?? 'unknown'})`,
      );
    }
  }
  return version;
}

/** Returns why the check failed, or undefined when the version answered `{ "ok": true }`. */
export async function smokeCheck(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  payload: Record<string, unknown>,
): Promise<string | undefined> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Qualifier: version,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) return `the function raised ${out.FunctionError}: ${text.slice(0, 300)}`;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return `the answer is not JSON: ${text.slice(0, 300)}`;
  }
  if ((answer as { ok?: unknown } | null)?.ok !== true) {
    return `the answer is not { "ok": true }: ${text.slice(0, 300)}`;
  }
  return undefined;
}

/** Moves `live`; the alias RevisionId makes Lambda refuse if someone moved it since we looked. */
export async function moveLive(lambda: LambdaClient, prepared: Prepared, version: string): Promise<void> {
  await lambda.send(
    new UpdateAliasCommand({
      FunctionName: prepared.functionName,
      Name: LIVE_ALIAS,
      FunctionVersion: version,
      RevisionId: prepared.aliasRevisionId,
    }),
  );
}

/** Tags the function with the commit now live (TAGS.commit). */
export async function tagCommit(lambda: LambdaClient, functionArn: string, sha: string): Promise<void> {
  await lambda.send(
    new TagResourceCommand({ Resource: unqualified(functionArn), Tags: { [TAGS.commit]: sha } }),
  );
}

/** Tags live on the function, not on versions or aliases: strip any qualifier. */
function unqualified(arn: string): string {
  const parts = arn.split(':');
  return parts.length > 7 ? parts.slice(0, 7).join(':') : arn;
}
