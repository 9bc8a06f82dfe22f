/**
 * Microservice deploy (docs/design.md "The deploy trigger", step 3): update code from the landing object,
 * wait for the update with the SDK waiter, set the commit on `$LATEST`'s environment (and wait again),
 * publish a version described with the SHA, smoke-check that version, and only then move alias `live`.
 * Every early exit leaves `live` where it was. Every wait is capped by the invocation's time budget;
 * Lambda errors that retrying cannot fix become final failures.
 *
 * The commit variable (SERVICE_ENV.commitSha) makes every commit's configuration differ from the
 * previous one's, so Lambda always publishes a new version, described with this commit, even when the
 * bundle is byte-identical to the live one (Lambda publishes no version when neither code nor
 * configuration changed). The version freezes `$LATEST`'s configuration, which CloudFormation set in
 * the release's Infrastructure step just before: a release's version carries that release's
 * configuration, and the running code logs its commit.
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
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { LIVE_ALIAS, type ServiceRegistration, TAGS } from '../shared/contracts';
import { SERVICE_ENV } from '../shared/settings';
import type { Budget } from './budget';
import { lambdaFinalReason, nameOf } from './errors';
import { type ArtifactTarget, Retryable, Stop } from './outcome';

export type ServiceTarget = ArtifactTarget;

export interface Prepared {
  readonly functionName: string;
  readonly functionArn: string;
  readonly aliasRevisionId?: string;
  readonly previousVersion?: string;
  /** The other versions alias `live` routes traffic to (a deployment stopped without rollback), if any. */
  readonly split?: string;
}

/** Runs one Lambda call; an error retrying cannot fix becomes a final failure that says what to do. */
async function call<T>(
  action: string,
  functionName: string,
  target: ServiceTarget,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Stop) throw e;
    const reason = lambdaFinalReason(e, {
      action,
      functionName,
      service: target.name,
      scope: target.scope,
    });
    if (reason) throw Stop.failed(reason);
    throw e;
  }
}

/** Checks the registered function really belongs to this biome and env before touching it. */
export async function prepareService(
  lambda: LambdaClient,
  registration: ServiceRegistration,
  target: ServiceTarget,
): Promise<Prepared> {
  const functionName = registration.functionName;
  const fn = await call('GetFunction', functionName, target, () =>
    lambda.send(new GetFunctionCommand({ FunctionName: functionName })),
  );
  const tags = fn.Tags ?? {};
  const owner = { app: tags[TAGS.app], env: tags[TAGS.env], biome: tags[TAGS.biome] };
  const { scope } = target;
  if (
    owner.app !== scope.app ||
    owner.env !== scope.env ||
    owner.biome !== scope.biome ||
    tags[TAGS.deployable] !== 'true'
  ) {
    throw Stop.rejected(
      `function ${functionName} registered for service "${target.name}" is tagged app=${owner.app} env=${owner.env} biome=${owner.biome} deployable=${tags[TAGS.deployable]}, not a deployable function of biome "${scope.biome}" in ${scope.env}; fix the biome stack's registration`,
    );
  }
  const alias = await call('GetAlias', functionName, target, async () => {
    try {
      return await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: LIVE_ALIAS }));
    } catch (e) {
      // The function exists (GetFunction just answered): a missing alias is the stack's to fix.
      if (nameOf(e) !== 'ResourceNotFoundException') throw e;
      throw Stop.failed(
        `function ${functionName} has no alias "${LIVE_ALIAS}"; the biome stack must create it`,
      );
    }
  });
  return {
    functionName,
    functionArn: fn.Configuration?.FunctionArn ?? functionName,
    aliasRevisionId: alias.RevisionId,
    previousVersion: alias.FunctionVersion,
    ...(Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).length > 0
      ? { split: Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).join(', ') }
      : {}),
  };
}

export interface ServiceDeployOptions {
  /** Longest wait for an update to finish before the attempt counts as failed (and is retried). */
  readonly maxWaitSeconds: number;
  /** What is left of the invocation; caps the update wait and the smoke check. */
  readonly budget: Budget;
}

/** The SDK waiter needs a maxWaitTime above its 1 s minimum delay. */
const MIN_WAIT_MS = 2_000;

/** Updates, publishes and smoke-checks; returns the version that passed. Does not move `live`. */
export async function publishAndCheck(
  lambda: LambdaClient,
  registration: ServiceRegistration,
  prepared: Prepared,
  target: ServiceTarget,
  options: ServiceDeployOptions,
): Promise<string> {
  const { functionName } = prepared;
  const { budget } = options;
  budget.left(`updating the code of ${functionName}`);
  const updated = await call('UpdateFunctionCode', functionName, target, () =>
    lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: functionName,
        S3Bucket: target.bucket,
        S3Key: target.key,
        S3ObjectVersion: target.versionId,
      }),
    ),
  );
  const afterCode = await waitForUpdate(lambda, functionName, 'code update', options);
  // The commit on $LATEST, next to the configuration CloudFormation gave it; RevisionId makes Lambda
  // refuse if anyone changed the function since our code update.
  const variables = { ...afterCode.variables, [SERVICE_ENV.commitSha]: target.sha };
  await call('UpdateFunctionConfiguration', functionName, target, () =>
    lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: functionName,
        Environment: { Variables: variables },
        RevisionId: afterCode.revisionId,
      }),
    ),
  );
  const { revisionId } = await waitForUpdate(lambda, functionName, 'configuration update', options);
  // CodeSha256 and RevisionId make Lambda refuse to publish if anyone changed the function since our update.
  const published = await call('PublishVersion', functionName, target, () =>
    lambda.send(
      new PublishVersionCommand({
        FunctionName: functionName,
        CodeSha256: updated.CodeSha256,
        RevisionId: revisionId,
        Description: `${target.sha} ${target.key}`.slice(0, 256),
      }),
    ),
  );
  const version = published.Version;
  if (!version) throw new Error(`PublishVersion of ${functionName} returned no version`);
  if (registration.smokeCheck) {
    const payload = registration.smokeCheck.payload;
    const reason = await call('Invoke', functionName, target, () =>
      budget.within(`the smoke check of ${functionName} version ${version}`, (signal) =>
        smokeCheck(lambda, functionName, version, payload, signal),
      ),
    );
    if (reason) {
      throw Stop.failed(
        `smoke check of ${functionName} version ${version} failed: ${reason}; live unchanged (still version ${prepared.previousVersion ?? 'unknown'})`,
      );
    }
  }
  return version;
}

/**
 * Waits until the function's last update finished; returns its revision and environment. A failed
 * update is final; an update still running when the budget ends is retryable.
 */
async function waitForUpdate(
  lambda: LambdaClient,
  functionName: string,
  what: string,
  options: ServiceDeployOptions,
): Promise<{ revisionId?: string; variables: Record<string, string> }> {
  const { budget } = options;
  const waitSeconds = Math.min(
    options.maxWaitSeconds,
    Math.floor(budget.left(`waiting for the ${what} of ${functionName}`, MIN_WAIT_MS) / 1000),
  );
  try {
    const waited = await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: waitSeconds },
      { FunctionName: functionName },
    );
    const configuration = waited.final?.Configuration;
    return {
      ...(configuration?.RevisionId ? { revisionId: configuration.RevisionId } : {}),
      variables: { ...configuration?.Environment?.Variables },
    };
  } catch (e) {
    const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    if (conf.LastUpdateStatus === 'Failed') {
      throw Stop.failed(
        `${what} of ${functionName} failed (${conf.LastUpdateStatusReasonCode ?? 'no code'}: ${conf.LastUpdateStatusReason ?? 'no reason'}); live unchanged; fix the package and publish a new commit`,
      );
    }
    if (nameOf(e) === 'TimeoutError') {
      const limit =
        waitSeconds < options.maxWaitSeconds ? 'all this invocation had left' : 'the longest wait allowed';
      throw new Retryable(
        `${what} of ${functionName} did not finish within ${waitSeconds} s (${limit}; status ${conf.LastUpdateStatus ?? 'unknown'}); live unchanged`,
      );
    }
    throw e;
  }
}

/** Returns why the check failed, or undefined when the version answered `{ "ok": true }`. */
export async function smokeCheck(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  payload: Record<string, unknown>,
  abortSignal?: AbortSignal,
): Promise<string | undefined> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Qualifier: version,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
    { abortSignal },
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) return `the function raised ${out.FunctionError}: ${text.slice(0, 300)}`;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return `the answer is not JSON: ${text.slice(0, 300)}`;
  }
  const ok = typeof answer === 'object' && answer !== null && 'ok' in answer && answer.ok === true;
  if (!ok) {
    return `the answer is not { "ok": true }: ${text.slice(0, 300)}`;
  }
  return undefined;
}

/** Moves `live`; the alias RevisionId makes Lambda refuse if someone moved it since we looked. */
export async function moveLive(
  lambda: LambdaClient,
  prepared: Prepared,
  version: string,
  target: ServiceTarget,
): Promise<void> {
  await call('UpdateAlias', prepared.functionName, target, () =>
    lambda.send(
      new UpdateAliasCommand({
        FunctionName: prepared.functionName,
        Name: LIVE_ALIAS,
        FunctionVersion: version,
        RevisionId: prepared.aliasRevisionId,
      }),
    ),
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
