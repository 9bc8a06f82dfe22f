import {
  CodeStorageExceededException,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  InvokeCommand,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TagResourceCommand,
  TooManyRequestsException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { PutCommand, type PutCommandInput, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { InvokeEndpointCommand, ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime';
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import { MIN_STEP_MS, RESERVE_MS } from '../../../lambda/deploy-trigger/budget';
import { processEvent, VALIDATION_ATTEMPTS } from '../../../lambda/deploy-trigger/deploy';
import { HEAD_BYTES, tarGz, validationRequest } from '../../../lambda/shared/model-archive';
import {
  bytesOf,
  Clock,
  deps,
  endpointAnswer,
  GOOD_ANSWER,
  METRICS,
  mocks,
  modelArchive,
  noise,
  QUALITY,
  s3Event,
  serveLanding,
  settings,
  SHA,
  SHA2,
  type FakeTable,
} from './fakes';

let m: ReturnType<typeof mocks>;
let clock: Clock;
const PUBLISHED = '2025-06-01T09:00:00Z';
const FUNCTION = 'biomes-dev-main-Ingest-abc';
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:222222222222:function:${FUNCTION}`;
const serviceKey = (sha = SHA) => `main/ingest-${sha}.zip`;
const modelKey = (sha = SHA) => `main/ranker-${sha}.tar.gz`;
/** What an invocation may spend waiting for another holder: its 600 s minus the reserve. */
const WAIT_BUDGET_MS = 600_000 - RESERVE_MS;
const START = Date.parse('2025-06-01T10:00:00.000Z');
/** The biome the tests deploy to: its registration and pointer names. */
const main = settings.scope.biome('main');
/** The archive every model landing object holds unless a test says otherwise. */
const ARCHIVE = modelArchive();

function head(sha = SHA, publishedAt = PUBLISHED, size = 1024) {
  return { ContentLength: size, Metadata: { 'commit-sha': sha, 'published-at': publishedAt } };
}

function s3Error(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

beforeEach(() => {
  m = mocks();
  clock = new Clock();
  m.s3.on(HeadObjectCommand).resolves(head());
  m.ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  m.ssm.on(GetParameterCommand, { Name: main.serviceRegistration('ingest') }).resolves({
    Parameter: {
      Value: JSON.stringify({
        functionName: FUNCTION,
        alias: 'live',
        smokeCheck: { payload: { smoke: true } },
      }),
    },
  });
  m.ssm.on(GetParameterCommand, { Name: main.modelRegistration('ranker') }).resolves({
    Parameter: {
      Value: JSON.stringify({ pointerParameter: main.modelPointer('ranker') }),
    },
  });
  m.ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  m.ssm
    .on(GetParametersByPathCommand, { Path: '/biomes/dev/main' })
    .resolves({ Parameters: [{ Name: 'x' }] });
  m.lambda.on(GetFunctionCommand).resolves({
    Configuration: {
      FunctionArn: FUNCTION_ARN,
      LastUpdateStatus: 'Successful',
      RevisionId: 'rev-updated',
      Environment: { Variables: { BIOMES_APP: 'biomes', BIOMES_DB_NAME: 'biome_main' } },
    },
    Tags: { app: 'biomes', env: 'dev', biome: 'main', deployable: 'true' },
  });
  m.lambda.on(UpdateFunctionConfigurationCommand).resolves({});
  m.lambda.on(GetAliasCommand).resolves({ FunctionVersion: '3', RevisionId: 'alias-rev' });
  m.lambda.on(UpdateFunctionCodeCommand).resolves({ CodeSha256: 'code-sha', FunctionArn: FUNCTION_ARN });
  m.lambda.on(PublishVersionCommand).resolves({ Version: '4' });
  m.lambda
    .on(InvokeCommand)
    .resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"ok":true}') as never });
  m.lambda.on(UpdateAliasCommand).resolves({});
  m.lambda.on(TagResourceCommand).resolves({});
  m.s3.on(CopyObjectCommand).resolves({});
  serveLanding(m.s3, ARCHIVE.bytes);
  m.sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(GOOD_ANSWER));
  m.ssm.on(PutParameterCommand).resolves({ Version: 2 });
});

afterEach(() => {
  for (const mock of [m.s3, m.lambda, m.ssm, m.sagemaker, m.ddb]) mock.restore();
});

function only(table: FakeTable) {
  const h = table.history();
  expect(h).toHaveLength(1);
  return h[0];
}

function expectNothingLiveChanged() {
  expect(m.lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  expect(m.lambda).not.toHaveReceivedCommand(TagResourceCommand);
  expect(m.ssm).not.toHaveReceivedCommand(PutParameterCommand);
  expect(m.table.query('BIOME#main', 'LIVE#')).toEqual([]);
}

describe('microservice', () => {
  test('happy path: update, wait, publish with the SHA, smoke-check that version, then move live', async () => {
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'deployed',
      biome: 'main',
      name: 'ingest',
      sha: SHA,
      deployedRef: '4',
    });

    expect(m.lambda).toHaveReceivedCommandWith(UpdateFunctionCodeCommand, {
      FunctionName: FUNCTION,
      S3Bucket: 'landing',
      S3Key: serviceKey(),
      S3ObjectVersion: 'v1',
    });
    expect(m.lambda).toHaveReceivedCommandWith(PublishVersionCommand, {
      FunctionName: FUNCTION,
      CodeSha256: 'code-sha',
      RevisionId: 'rev-updated',
      Description: expect.stringContaining(SHA),
    });
    expect(m.lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '4' });
    expect(m.lambda).toHaveReceivedCommandWith(UpdateAliasCommand, {
      FunctionName: FUNCTION,
      Name: 'live',
      FunctionVersion: '4',
      RevisionId: 'alias-rev',
    });
    expect(m.lambda).toHaveReceivedCommandWith(TagResourceCommand, {
      Resource: FUNCTION_ARN,
      Tags: { commit: SHA },
    });
    // Order: the smoke check comes before the alias moves.
    const names = m.lambda.calls().map((c) => c.args[0].constructor.name);
    expect(names.indexOf('InvokeCommand')).toBeLessThan(names.indexOf('UpdateAliasCommand'));
    expect(names.indexOf('GetFunctionCommand')).toBeLessThan(names.indexOf('PublishVersionCommand'));

    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({
      sha: SHA,
      publishedAt: '2025-06-01T09:00:00.000Z',
      deployedRef: '4',
      liveSince: '2025-06-01T10:00:00.000Z',
      // What was in it: the SBOM the build published beside it (lib/bundling/sbom.ts).
      sbomKey: `main/sbom-${SHA}.cdx.json`,
    });
    expect(m.table.query('BIOME#main', 'HISTORY#service#ingest#')).toEqual([
      expect.objectContaining({
        status: 'deployed',
        sha: SHA,
        key: serviceKey(),
        objectVersion: 'v1',
        sbomKey: `main/sbom-${SHA}.cdx.json`,
      }),
    ]);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'deployed' });
    expect(m.table.get('BIOME#main', 'LOCK#service#ingest')?.owner).toBeUndefined();
  });

  test("the commit is set on $LATEST, next to CloudFormation's variables, after the code update and before publishing", async () => {
    await processEvent(deps(clock), s3Event(serviceKey()));
    expect(m.lambda).toHaveReceivedCommandWith(UpdateFunctionConfigurationCommand, {
      FunctionName: FUNCTION,
      Environment: {
        Variables: { BIOMES_APP: 'biomes', BIOMES_DB_NAME: 'biome_main', BIOMES_COMMIT_SHA: SHA },
      },
      RevisionId: 'rev-updated',
    });
    const names = m.lambda.calls().map((c) => c.args[0].constructor.name);
    expect(names.indexOf('UpdateFunctionCodeCommand')).toBeLessThan(
      names.indexOf('UpdateFunctionConfigurationCommand'),
    );
    expect(names.indexOf('UpdateFunctionConfigurationCommand')).toBeLessThan(
      names.indexOf('PublishVersionCommand'),
    );
  });

  test('a byte-identical bundle under a new commit still publishes a new version, described with the new SHA', async () => {
    // Lambda's rule: PublishVersion returns the last version when neither code nor configuration changed.
    let environment: Record<string, string> = {};
    const published: { code: string; env: string; version: string; description: string }[] = [];
    m.lambda
      .on(UpdateFunctionConfigurationCommand)
      .callsFake((input: { Environment?: { Variables?: Record<string, string> } }) => {
        environment = { ...input.Environment?.Variables };
        return {};
      });
    m.lambda.on(PublishVersionCommand).callsFake((input: { CodeSha256?: string; Description?: string }) => {
      const env = JSON.stringify(environment);
      const last = published[published.length - 1];
      if (last && last.code === input.CodeSha256 && last.env === env)
        return { Version: last.version, Description: last.description };
      const version = String(published.length + 4);
      published.push({ code: input.CodeSha256 ?? '', env, version, description: input.Description ?? '' });
      return { Version: version, Description: input.Description };
    });
    m.s3.on(HeadObjectCommand, { Key: serviceKey(SHA2) }).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    const first = await processEvent(deps(clock), s3Event(serviceKey()));
    const second = await processEvent(
      deps(clock),
      s3Event(serviceKey(SHA2), { versionId: 'v2', id: 'event-2' }),
    );
    expect(first).toMatchObject({ status: 'deployed', deployedRef: '4' });
    expect(second).toMatchObject({ status: 'deployed', sha: SHA2, deployedRef: '5' });
    expect(published.map((p) => p.code)).toEqual(['code-sha', 'code-sha']); // the same bytes twice
    expect(published[1]?.description).toContain(SHA2);
    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({ sha: SHA2, deployedRef: '5' });
  });

  test('a service without a smoke check skips it and still deploys', async () => {
    m.ssm
      .on(GetParameterCommand, { Name: main.serviceRegistration('ingest') })
      .resolves({ Parameter: { Value: JSON.stringify({ functionName: FUNCTION, alias: 'live' }) } });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome.status).toBe('deployed');
    expect(m.lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  test('previous SHA is recorded when a newer publication replaces a live one', async () => {
    await processEvent(deps(clock), s3Event(serviceKey(SHA)));
    m.s3.on(HeadObjectCommand).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    clock.advance(1000);
    const outcome = await processEvent(
      deps(clock),
      s3Event(serviceKey(SHA2), { id: 'event-2', versionId: 'v2' }),
    );
    expect(outcome).toMatchObject({ status: 'deployed', sha: SHA2, previousSha: SHA });
    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({ sha: SHA2, previousSha: SHA });
    expect(m.table.query('BIOME#main', 'HISTORY#service#ingest#')).toHaveLength(2);
  });

  test('smoke check failure: recorded failed, alias not moved, not retried', async () => {
    m.lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode('{"errorMessage":"boom"}') as never,
    });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(
      /smoke check of .* version 4 failed: the function raised Unhandled.*boom.*live unchanged \(still version 3\)/,
    );
    expectNothingLiveChanged();
    expect(only(m.table)).toMatchObject({ status: 'failed', sha: SHA });
    // Final: the release's verify step stops waiting on it.
    expect(only(m.table)?.retrying).toBeUndefined();
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'failed' });
  });

  test('smoke check answering something other than { ok: true } fails too', async () => {
    m.lambda
      .on(InvokeCommand)
      .resolves({ Payload: new TextEncoder().encode('{"ok":false,"detail":"db down"}') as never });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/not \{ "ok": true \}.*db down/),
    });
    expectNothingLiveChanged();
  });

  test('update conflict from a concurrent update: recorded failed, live untouched, rethrown; the retry deploys', async () => {
    m.lambda
      .on(UpdateFunctionCodeCommand)
      .rejectsOnce(new ResourceConflictException({ message: 'An update is in progress', $metadata: {} }))
      .resolves({ CodeSha256: 'code-sha', FunctionArn: FUNCTION_ARN });
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(/update is in progress/);
    expectNothingLiveChanged();
    expect(m.lambda).not.toHaveReceivedCommand(PublishVersionCommand);
    expect(only(m.table)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /busy with another update \(ResourceConflictException.*live unchanged.*dead-letter/,
      ),
      // Not the end: the platform retries, and the release's verify step keeps waiting.
      retrying: true,
    });
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
    expect(m.table.get('BIOME#main', 'LOCK#service#ingest')?.owner).toBeUndefined();

    // Lambda's async retry delivers the same event again: the retryable claim lets it through.
    clock.advance(60_000);
    const retried = await processEvent(deps(clock, 'request-2'), s3Event(serviceKey()));
    expect(retried.status).toBe('deployed');
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
  });

  test('a failed code update (bad package) is final: recorded failed, not retried', async () => {
    m.lambda.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: FUNCTION_ARN, LastUpdateStatus: 'Failed' },
      Tags: { app: 'biomes', env: 'dev', biome: 'main', deployable: 'true' },
    });
    m.lambda.on(GetFunctionConfigurationCommand).resolves({
      LastUpdateStatus: 'Failed',
      LastUpdateStatusReasonCode: 'InvalidZipFileException',
      LastUpdateStatusReason: 'could not unzip',
    });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/InvalidZipFileException: could not unzip/),
    });
    expect(m.lambda).not.toHaveReceivedCommand(PublishVersionCommand);
    expectNothingLiveChanged();
  });

  test('a registered function of another biome is refused', async () => {
    m.lambda.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: FUNCTION_ARN },
      Tags: { app: 'biomes', env: 'dev', biome: 'alice', deployable: 'true' },
    });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/biome=alice.*not a deployable function of biome "main"/),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
  });

  test('while another deploy of the same service holds the lease, wait all the budget allows, then give up and let the platform retry', async () => {
    m.table.items.set('BIOME#main|LOCK#service#ingest', {
      pk: 'BIOME#main',
      sk: 'LOCK#service#ingest',
      owner: 'someone-else',
      expiresAt: '2025-06-01T10:11:00.000Z',
    });
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
      /held the lease for 580 s, all this invocation had left/,
    );
    expect(clock.ms - START).toBeGreaterThanOrEqual(WAIT_BUDGET_MS);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
  });
});

describe('model', () => {
  test('happy path: read the head, copy without overwrite, validate with TargetModel (retrying while it loads), then move the pointer', async () => {
    const order: string[] = [];
    m.sagemaker
      .on(InvokeEndpointCommand)
      .rejectsOnce(new ModelNotReadyException({ message: 'loading', $metadata: {} }))
      .callsFake(() => {
        order.push('validated');
        return endpointAnswer(GOOD_ANSWER);
      });
    m.ssm.on(PutParameterCommand).callsFake(() => {
      order.push('pointer moved');
      return { Version: 2 };
    });
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'deployed',
      kind: 'model',
      deployedRef: `main/ranker-${SHA}.tar.gz`,
    });
    expect(m.s3).toHaveReceivedCommandWith(CopyObjectCommand, {
      Bucket: 'model-bucket',
      Key: `models/main/ranker-${SHA}.tar.gz`,
      CopySource: `landing/main/ranker-${SHA}.tar.gz?versionId=v1`,
      IfNoneMatch: '*',
    });
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 2);
    expect(m.sagemaker).toHaveReceivedCommandWith(InvokeEndpointCommand, {
      EndpointName: 'mme',
      TargetModel: `main/ranker-${SHA}.tar.gz`,
      ContentType: 'application/json',
      Accept: 'application/json',
    });
    expect(m.ssm).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: '/biomes/dev/main/model-pointers/ranker',
      Value: `main/ranker-${SHA}.tar.gz`,
      Overwrite: true,
    });
    // Order: the head is read before the copy, the validation comes before the pointer moves.
    const s3Calls = m.s3.calls().map((c) => c.args[0].constructor.name);
    expect(s3Calls.indexOf('GetObjectCommand')).toBeLessThan(s3Calls.indexOf('CopyObjectCommand'));
    expect(m.s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(order).toEqual(['validated', 'pointer moved']);
    expect(m.table.get('BIOME#main', 'LIVE#model#ranker')).toMatchObject({ sha: SHA, metrics: METRICS });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  });

  test('a model object of the same commit already present (rollback, or a run that died after the copy): reused, never overwritten, validated, pointer moves', async () => {
    m.s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({ status: 'deployed', deployedRef: `main/ranker-${SHA}.tar.gz` });
    // Its commit-sha metadata (copied with the object) says it is this commit's model.
    expect(m.s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'model-bucket',
      Key: `models/main/ranker-${SHA}.tar.gz`,
    });
    expect(m.s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
    expect(m.s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(m.sagemaker).toHaveReceivedCommandWith(InvokeEndpointCommand, {
      TargetModel: `main/ranker-${SHA}.tar.gz`,
      Body: bytesOf(validationRequest(ARCHIVE.quality)),
    });
    expect(m.ssm).toHaveReceivedCommandWith(PutParameterCommand, { Value: `main/ranker-${SHA}.tar.gz` });
  });

  test('a model object present with another commit: recorded failed, never overwritten, pointer unchanged', async () => {
    m.s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    m.s3.on(HeadObjectCommand, { Bucket: 'model-bucket' }).resolves(head(SHA2));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /already exists but holds commit b+, not a+; it is never overwritten, so the pointer stays/,
      ),
    });
    expect(m.sagemaker).not.toHaveReceivedCommand(InvokeEndpointCommand);
    expectNothingLiveChanged();
  });

  test('a rollback (an old SHA published again, later) moves the pointer back to the existing object', async () => {
    await processEvent(deps(clock), s3Event(modelKey(SHA)));
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    await processEvent(deps(clock, 'r2'), s3Event(modelKey(SHA2), { id: 'event-2', versionId: 'v2' }));
    // The object of the old commit exists since its first deploy: S3 refuses the copy.
    m.s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).resolves(head(SHA, '2025-06-01T11:00:00Z'));
    const outcome = await processEvent(
      deps(clock, 'r3'),
      s3Event(modelKey(SHA), { id: 'event-3', versionId: 'v3' }),
    );
    expect(outcome).toMatchObject({ status: 'deployed', sha: SHA, previousSha: SHA2 });
    expect(m.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Value)).toEqual([
      `main/ranker-${SHA}.tar.gz`,
      `main/ranker-${SHA2}.tar.gz`,
      `main/ranker-${SHA}.tar.gz`,
    ]);
    expect(m.table.get('BIOME#main', 'LIVE#model#ranker')).toMatchObject({
      sha: SHA,
      publishedAt: '2025-06-01T11:00:00.000Z',
    });
  });

  test('a retry after our own copy succeeded continues instead of calling it "already present"', async () => {
    m.ssm.on(PutParameterCommand).rejectsOnce(new Error('Rate exceeded')).resolves({ Version: 2 });
    await expect(processEvent(deps(clock), s3Event(modelKey()))).rejects.toThrow(/Rate exceeded/);
    expect(m.table.query('BIOME#main', 'LIVE#')).toEqual([]);
    m.s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    const retried = await processEvent(deps(clock, 'request-2'), s3Event(modelKey()));
    expect(retried.status).toBe('deployed');
    expect(m.table.get('BIOME#main', 'LIVE#model#ranker')).toMatchObject({ sha: SHA });
  });

  test('a model error on the validation is final: pointer unchanged, what to fix named', async () => {
    const error = Object.assign(new Error('container said no'), { name: 'ModelError' });
    m.sagemaker.on(InvokeEndpointCommand).rejects(error);
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^validation of main\/ranker-a+\.tar\.gz on endpoint mme failed \(ModelError: container said no\); pointer unchanged; fix models\/ranker\/ and publish a new commit$/,
      ),
    });
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    expectNothingLiveChanged();
  });

  test('a service registration stored for a model is refused as such, before anything is copied', async () => {
    m.ssm
      .on(GetParameterCommand, { Name: main.modelRegistration('ranker') })
      .resolves({ Parameter: { Value: JSON.stringify({ functionName: FUNCTION, alias: 'live' }) } });
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      kind: 'model',
      reason: expect.stringMatching(
        /registration \/biomes\/dev\/main\/models\/ranker holds a service registration, not a model registration/,
      ),
    });
    expect(m.s3).not.toHaveReceivedCommand(CopyObjectCommand);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
  });

  test("the model object is the TargetModel under the model prefix, inside the biome scope's prefix", async () => {
    await processEvent(deps(clock), s3Event(modelKey()));
    const [copy] = m.s3.commandCalls(CopyObjectCommand);
    const key = copy?.args[0].input.Key;
    expect(key).toBe(`models/main/ranker-${SHA}.tar.gz`);
    expect(key?.startsWith(main.modelPrefix('models/'))).toBe(true);
    // SageMaker loads <model location><TargetModel>: the pointer and the object agree.
    const [pointer] = m.ssm.commandCalls(PutParameterCommand);
    expect(`models/${pointer?.args[0].input.Value}`).toBe(key);
  });

  test('a pointer registered outside the biome is refused', async () => {
    m.ssm.on(GetParameterCommand, { Name: main.modelRegistration('ranker') }).resolves({
      Parameter: { Value: JSON.stringify({ pointerParameter: '/biomes/dev/alice/model-pointers/ranker' }) },
    });
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/must be \/biomes\/dev\/main\/model-pointers\/ranker/),
    });
    expect(m.s3).not.toHaveReceivedCommand(CopyObjectCommand);
  });
});

describe('model: validated on the endpoint before the pointer moves', () => {
  const reason = (outcome: { reason: string }) => outcome.reason;
  const historyOf = () => m.table.query('BIOME#main', 'HISTORY#model#ranker#');
  /** Makes the landing object `bytes` (its HeadObject says their size). */
  const land = (bytes: Uint8Array) => {
    serveLanding(m.s3, bytes);
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).resolves(head(SHA, PUBLISHED, bytes.length));
  };
  const expectNothingCopied = () => {
    expect(m.s3).not.toHaveReceivedCommand(CopyObjectCommand);
    expect(m.sagemaker).not.toHaveReceivedCommand(InvokeEndpointCommand);
    expectNothingLiveChanged();
  };
  /** A prediction of row 1 off by 0.3, far beyond the tolerance of 0.01. */
  const rowOneOff = {
    predictions: [
      { score: 0.9, label: 1 },
      { score: 0.5, label: 0 },
    ],
  };

  test('every row within tolerance: the pointer moves, and the live and history records carry the metrics', async () => {
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({ status: 'deployed', metrics: METRICS });
    expect(m.ssm).toHaveReceivedCommandWith(PutParameterCommand, { Value: `main/ranker-${SHA}.tar.gz` });
    const live = m.table.get('BIOME#main', 'LIVE#model#ranker');
    expect(live).toMatchObject({
      sha: SHA,
      deployedRef: `main/ranker-${SHA}.tar.gz`,
      metrics: { accuracy: 0.9 },
      // What was in it: the SBOM the build published beside it (lib/bundling/sbom.ts).
      sbomKey: `main/sbom-${SHA}.cdx.json`,
    });
    // A model the pipeline built carries no retraining fields.
    expect(live).not.toHaveProperty('retrainedFrom');
    expect(live).not.toHaveProperty('trainingJob');
    expect(historyOf()).toEqual([expect.objectContaining({ status: 'deployed', metrics: METRICS })]);
  });

  test('the head is one ranged GET of the landing version, bytes=0-1048575; the landing object is HEAD-ed once', async () => {
    await processEvent(deps(clock), s3Event(modelKey()));
    expect(HEAD_BYTES).toBe(1024 * 1024);
    expect(m.s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(m.s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'landing',
      Key: modelKey(),
      VersionId: 'v1',
      Range: 'bytes=0-1048575',
    });
    // The size comes from the HeadObject the trigger already makes: no second one of the landing object.
    const landingHeads = m.s3
      .commandCalls(HeadObjectCommand)
      .filter((c) => c.args[0].input.Bucket === 'landing');
    expect(landingHeads).toHaveLength(1);
  });

  test('the request is every row in one body, exactly validationRequest(quality), JSON both ways', async () => {
    await processEvent(deps(clock), s3Event(modelKey()));
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    const input = m.sagemaker.commandCalls(InvokeEndpointCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      EndpointName: 'mme',
      TargetModel: `main/ranker-${SHA}.tar.gz`,
      ContentType: 'application/json',
      Accept: 'application/json',
    });
    const sent = new TextDecoder().decode(input.Body as Uint8Array);
    expect(sent).toBe(validationRequest(ARCHIVE.quality));
    expect(sent).toBe('{"instances":[[1,2,3],[4,5,6]]}');
  });

  test('one row off: failed with its input, expected and answer; pointer not moved; the failure carries the metrics', async () => {
    m.sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(rowOneOff));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome.status).toBe('failed');
    expect(reason(outcome)).toBe(
      `validation of main/ranker-${SHA}.tar.gz on endpoint mme failed: validation row 1: input [4,5,6], expected {"score":0.2,"label":0}, got {"score":0.5,"label":0} (score: expected 0.2 ± 0.01, got 0.5); pointer unchanged; fix models/ranker/ and publish a new commit`,
    );
    expect(m.ssm).not.toHaveReceivedCommand(PutParameterCommand);
    expectNothingLiveChanged();
    // Final (not retried), and the record shows what the build measured of the model that failed.
    expect(only(m.table)).toMatchObject({ status: 'failed', sha: SHA, metrics: METRICS });
    expect(only(m.table)?.retrying).toBeUndefined();
    expect(m.table.get(`OBJECT#${modelKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'failed' });
  });

  test('an answer without one prediction per row fails on row 0, saying what came back', async () => {
    m.sagemaker
      .on(InvokeEndpointCommand)
      .resolves(endpointAnswer({ predictions: [{ score: 0.9, label: 1 }] }));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /failed: validation row 0: input \[1,2,3\], .*expected \{"predictions": \[\.\.\.\]\} with 2 prediction\(s\).*pointer unchanged/,
      ),
    });
    expectNothingLiveChanged();
  });

  test('an answer that is not JSON: failed, saying so; pointer not moved', async () => {
    m.sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer('<html>Bad Gateway</html>'));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^validation of main\/ranker-a+\.tar\.gz on endpoint mme failed: the answer is not JSON \(.*\): "<html>Bad Gateway<\/html>"; pointer unchanged; fix models\/ranker\/ and publish a new commit$/,
      ),
    });
    expectNothingLiveChanged();
    expect(only(m.table)).toMatchObject({ status: 'failed', metrics: METRICS });
  });

  test('an empty answer is not JSON either', async () => {
    m.sagemaker.on(InvokeEndpointCommand).resolves({});
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/the answer is not JSON/),
    });
    expectNothingLiveChanged();
  });

  test('bytes that are not gzip: rejected, nothing copied, nothing invoked, pointer unchanged', async () => {
    land(bytesOf('this is not an archive at all'));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /^model archive main\/ranker-a+\.tar\.gz: not a gzip archive \(.*\); nothing was copied and the pointer is unchanged$/,
      ),
    });
    expectNothingCopied();
    expect(only(m.table)).toMatchObject({ status: 'rejected' });
  });

  test('an archive without quality.json: rejected, nothing copied', async () => {
    land(
      tarGz([
        { name: 'metrics.json', data: bytesOf(JSON.stringify(METRICS)) },
        { name: 'inference.py', data: bytesOf('pass\n') },
        { name: 'model.json', data: bytesOf('{}') },
      ]),
    );
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /^model archive main\/ranker-a+\.tar\.gz has no quality\.json at its root; package the model with `npm run package`, which writes it; nothing was copied and the pointer is unchanged$/,
      ),
    });
    expectNothingCopied();
  });

  test('a quality.json that is not a bar: rejected, nothing copied', async () => {
    land(
      tarGz([
        { name: 'quality.json', data: bytesOf('{"metrics":{"accuracy":{"min":0.8}}}') },
        { name: 'metrics.json', data: bytesOf(JSON.stringify(METRICS)) },
      ]),
    );
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/quality\.json is not a quality bar: .*validation/),
    });
    expectNothingCopied();
  });

  test('a big archive whose head (a partial read) lacks metrics.json: rejected, nothing copied', async () => {
    const bytes = tarGz([
      { name: 'quality.json', data: bytesOf(JSON.stringify(QUALITY)) },
      // Not what the build writes: a model file ahead of metrics.json pushes it past the head.
      { name: 'big.bin', data: noise(HEAD_BYTES + 64 * 1024) },
      { name: 'metrics.json', data: bytesOf(JSON.stringify(METRICS)) },
    ]);
    expect(bytes.length).toBeGreaterThan(HEAD_BYTES);
    land(bytes);
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /has no metrics\.json at its root.*; nothing was copied and the pointer is unchanged$/,
      ),
    });
    expectNothingCopied();
  });

  test('a big archive as the build writes it (bar and metrics first) deploys from its head alone', async () => {
    const big = modelArchive({ files: [{ name: 'weights.bin', data: noise(HEAD_BYTES + 64 * 1024) }] });
    expect(big.bytes.length).toBeGreaterThan(HEAD_BYTES);
    land(big.bytes);
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({ status: 'deployed', metrics: METRICS });
    expect(m.s3).toHaveReceivedCommandWith(GetObjectCommand, { Range: 'bytes=0-1048575' });
    expect(m.ssm).toHaveReceivedCommand(PutParameterCommand);
  });

  test('a small archive cut short is read whole (not as a head) and rejected', async () => {
    land(ARCHIVE.bytes.subarray(0, Math.floor(ARCHIVE.bytes.length / 2)));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/^model archive main\/ranker-a+\.tar\.gz: .*; nothing was copied/),
    });
    expectNothingCopied();
  });

  test('a landing version gone between HeadObject and the ranged GET: rejected, nothing copied', async () => {
    m.s3.on(GetObjectCommand).rejects(s3Error('NoSuchVersion', 404));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/no longer exists or is a delete marker; nothing was copied/),
    });
    expectNothingCopied();
  });

  test('too little time left to read the head: retryable, nothing read or copied', async () => {
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).callsFake(() => {
      clock.deadline = clock.ms + RESERVE_MS + 1_000;
      return head();
    });
    await expect(processEvent(deps(clock), s3Event(modelKey()))).rejects.toThrow(
      /out of time before reading the head of the model archive main\/ranker-a+\.tar\.gz/,
    );
    expect(m.s3).not.toHaveReceivedCommand(GetObjectCommand);
    expectNothingCopied();
  });

  test('ModelNotReadyException while the model loads is retried with backoff, then validated', async () => {
    const loading = new ModelNotReadyException({ message: 'loading', $metadata: {} });
    m.sagemaker
      .on(InvokeEndpointCommand)
      .rejectsOnce(loading)
      .rejectsOnce(loading)
      .resolves(endpointAnswer(GOOD_ANSWER));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome.status).toBe('deployed');
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 3);
    expect(clock.ms - START).toBeGreaterThanOrEqual(2_000 + 4_000);
  });

  test('a model still not ready after every attempt is retryable, not failed: pointer unchanged', async () => {
    m.sagemaker
      .on(InvokeEndpointCommand)
      .rejects(new ModelNotReadyException({ message: 'loading', $metadata: {} }));
    await expect(processEvent(deps(clock), s3Event(modelKey()))).rejects.toThrow(/loading/);
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, VALIDATION_ATTEMPTS);
    expectNothingLiveChanged();
    expect(m.table.get(`OBJECT#${modelKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
  });

  test('the reused object (already present with this commit) is validated too: a mismatch fails, the pointer stays', async () => {
    m.s3.on(CopyObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    m.sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(rowOneOff));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/failed: validation row 1: input \[4,5,6\]/),
    });
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    expectNothingLiveChanged();
  });

  test('a retrained model: its retraining metadata is recorded on the live and history records', async () => {
    const retrained = {
      'retrained-from': SHA2,
      'training-data': 's3://model-bucket/training/main/ranker/',
      'training-job': 'biomes-dev-main-train-20250601T090000',
    };
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).resolves({
      ContentLength: ARCHIVE.bytes.length,
      // The key's id is the retraining id, and commit-sha says the same.
      Metadata: { 'commit-sha': SHA, 'published-at': PUBLISHED, ...retrained },
    });
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    const fields = {
      retrainedFrom: SHA2,
      trainingData: 's3://model-bucket/training/main/ranker/',
      trainingJob: 'biomes-dev-main-train-20250601T090000',
    };
    expect(outcome).toMatchObject({ status: 'deployed', ...fields });
    expect(m.table.get('BIOME#main', 'LIVE#model#ranker')).toMatchObject({
      sha: SHA,
      metrics: METRICS,
      ...fields,
      // The SBOM of the code it was retrained with: that commit's.
      sbomKey: `main/sbom-${SHA2}.cdx.json`,
    });
    expect(historyOf()).toEqual([expect.objectContaining({ status: 'deployed', ...fields })]);
  });

  test('a retrained model that fails its validation is recorded with its retraining metadata', async () => {
    m.s3.on(HeadObjectCommand, { Bucket: 'landing' }).resolves({
      ContentLength: ARCHIVE.bytes.length,
      Metadata: { 'commit-sha': SHA, 'published-at': PUBLISHED, 'retrained-from': SHA2 },
    });
    m.sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(rowOneOff));
    await processEvent(deps(clock), s3Event(modelKey()));
    expect(only(m.table)).toMatchObject({ status: 'failed', retrainedFrom: SHA2, metrics: METRICS });
    expect(only(m.table)).not.toHaveProperty('trainingJob');
  });

  test('a registration written before the validation (with a warmUp) still deploys, validated with the rows', async () => {
    m.ssm.on(GetParameterCommand, { Name: main.modelRegistration('ranker') }).resolves({
      Parameter: {
        Value: JSON.stringify({
          pointerParameter: main.modelPointer('ranker'),
          warmUp: { contentType: 'text/csv', body: '1,2,3' },
        }),
      },
    });
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome.status).toBe('deployed');
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    expect(m.sagemaker).toHaveReceivedCommandWith(InvokeEndpointCommand, {
      ContentType: 'application/json',
      Body: bytesOf(validationRequest(ARCHIVE.quality)),
    });
  });
});

describe('bad input is rejected with a reason and changes nothing', () => {
  test.each([
    ['malformed %-escape', 'main/ingest-%E0%A4%A.zip', /not valid URL encoding/],
    ['no SHA', 'main/ingest.zip', /no "-<sha>"/],
    ['SHA not 40 hex', `main/ingest-${'A'.repeat(40)}.zip`, /full 40-character lowercase hexadecimal/],
    ['short SHA', 'main/ingest-abc1234.zip', /full 40-character lowercase hexadecimal/],
    ['wrong extension', `main/ingest-${SHA}.jar`, /must end in \.zip .* or \.tar\.gz/],
    ['nested key', `main/x/ingest-${SHA}.zip`, /must be <biome>\/<name>-<sha>\.zip/],
    ['space in the name (+ in the event)', `main/my+service-${SHA}.zip`, /name "my service" must match/],
    [
      'plus sign in the name (%2B in the event)',
      `main/my%2Bservice-${SHA}.zip`,
      /name "my\+service" must match/,
    ],
  ])('%s', async (_label, rawKey, reason) => {
    const outcome = await processEvent(deps(clock), s3Event(rawKey));
    expect(outcome).toMatchObject({ status: 'rejected', reason: expect.stringMatching(reason) });
    expect(m.s3).not.toHaveReceivedCommand(HeadObjectCommand);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
    expect(only(m.table)).toMatchObject({ status: 'rejected' });
  });

  test('an off-grammar key is recorded under UNPARSED, an on-grammar one under its biome', async () => {
    await processEvent(deps(clock), s3Event('main/ingest-%E0%A4%A.zip'));
    expect(m.table.query('UNPARSED', 'HISTORY#')).toEqual([
      expect.objectContaining({ status: 'rejected', key: 'main/ingest-%E0%A4%A.zip' }),
    ]);
  });

  test('a URL-encoded key decodes before it is parsed (and deploys)', async () => {
    const outcome = await processEvent(deps(clock), s3Event(`main%2Fingest-${SHA}.zip`));
    expect(outcome).toMatchObject({ status: 'deployed', key: serviceKey() });
    expect(m.s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'landing',
      Key: serviceKey(),
      VersionId: 'v1',
    });
  });

  test('unknown biome', async () => {
    const outcome = await processEvent(deps(clock), s3Event(`bob/ingest-${SHA}.zip`));
    expect(outcome).toMatchObject({
      status: 'rejected',
      biome: 'bob',
      reason: expect.stringMatching(
        /unknown biome "bob" in dev: nothing is registered under \/biomes\/dev\/bob\/; deploy its stack/,
      ),
    });
    expect(m.table.query('BIOME#bob', 'HISTORY#service#ingest#')).toHaveLength(1);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
  });

  test('unknown service in a known biome', async () => {
    const outcome = await processEvent(deps(clock), s3Event(`main/billing-${SHA}.zip`));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /unknown service "billing" in biome "main": \/biomes\/dev\/main\/services\/billing does not exist/,
      ),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
  });

  test('unknown model in a known biome', async () => {
    const outcome = await processEvent(deps(clock), s3Event(`main/other-${SHA}.tar.gz`));
    expect(outcome.reason).toMatch(/unknown model "other" in biome "main"/);
    expect(m.s3).not.toHaveReceivedCommand(CopyObjectCommand);
  });

  test('a deletion (delete marker) event deploys nothing', async () => {
    const outcome = await processEvent(deps(clock), s3Event(serviceKey(), { detailType: 'Object Deleted' }));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/not "Object Created"/),
    });
    expect(m.s3).not.toHaveReceivedCommand(HeadObjectCommand);
    expectNothingLiveChanged();
  });

  test('an object version deleted (or a delete marker) before the trigger ran', async () => {
    m.s3.on(HeadObjectCommand).rejects(s3Error('MethodNotAllowed', 405));
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/no longer exists or is a delete marker/),
    });
    expectNothingLiveChanged();
  });

  test('a zero-byte object', async () => {
    m.s3.on(HeadObjectCommand).resolves(head(SHA, PUBLISHED, 0));
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/is empty \(0 bytes\)/),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expectNothingLiveChanged();
  });

  test('an oversize package', async () => {
    m.s3.on(HeadObjectCommand).resolves(head(SHA, PUBLISHED, 250 * 1024 * 1024 + 1));
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome.reason).toMatch(/over the service limit of 262144000 bytes/);
    expectNothingLiveChanged();
  });

  test.each([
    ['missing commit-sha', { 'published-at': PUBLISHED }, /has no x-amz-meta-commit-sha/],
    [
      'commit-sha disagreeing with the key',
      { 'commit-sha': SHA2, 'published-at': PUBLISHED },
      /names commit a+ but its x-amz-meta-commit-sha is b+/,
    ],
    [
      'missing published-at',
      { 'commit-sha': SHA },
      /no x-amz-meta-published-at; it must be an ISO-8601 UTC time/,
    ],
    [
      'invalid published-at',
      { 'commit-sha': SHA, 'published-at': 'yesterday' },
      /invalid x-amz-meta-published-at "yesterday"/,
    ],
  ])('metadata: %s', async (_label, metadata, reason) => {
    m.s3.on(HeadObjectCommand).resolves({ ContentLength: 10, Metadata: metadata });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({ status: 'rejected', reason: expect.stringMatching(reason) });
    expectNothingLiveChanged();
  });

  test('an event from another bucket', async () => {
    const outcome = await processEvent(deps(clock), s3Event(serviceKey(), { bucket: 'elsewhere' }));
    expect(outcome.reason).toMatch(/not the landing bucket "landing"/);
    expectNothingLiveChanged();
  });

  test('something that is not an S3 event', async () => {
    const outcome = await processEvent(deps(clock), { hello: 'world' });
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/not an S3 EventBridge event/),
    });
    expect(m.table.query('UNPARSED', 'HISTORY#')).toHaveLength(1);
  });
});

describe('idempotency and order', () => {
  test('the same event delivered twice deploys once; the second is recorded skipped', async () => {
    const first = await processEvent(deps(clock), s3Event(serviceKey()));
    clock.advance(5_000);
    const second = await processEvent(deps(clock, 'request-2'), s3Event(serviceKey()));
    expect(first.status).toBe('deployed');
    expect(second).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/duplicate delivery.*"deployed"/),
    });
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateFunctionCodeCommand, 1);
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
    expect(m.table.query('BIOME#main', 'HISTORY#service#ingest#').map((i) => i.status)).toEqual([
      'deployed',
      'skipped',
    ]);
  });

  test('a duplicate arriving while another invocation still runs it is retried, not skipped', async () => {
    m.table.items.set(`OBJECT#${serviceKey()}|DELIVERY#v:v1`, {
      pk: `OBJECT#${serviceKey()}`,
      sk: 'DELIVERY#v:v1',
      status: 'running',
      owner: 'request-0',
      leaseUntil: '2025-06-01T10:10:00.000Z',
    });
    // Skipping would lose the event if request-0 died: only a retryable error reaches the dead-letter queue.
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
      /another invocation is still deploying this object version \(claim "running"\)/,
    );
    expect(clock.ms - START).toBeGreaterThanOrEqual(WAIT_BUDGET_MS - 2_000);
    expectNothingLiveChanged();
    expect(m.table.history().filter((h) => h.status === 'skipped')).toEqual([]);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({
      status: 'running',
      owner: 'request-0',
    });
  });

  test('a duplicate that waits while the first delivery finishes is skipped', async () => {
    const claim = {
      pk: `OBJECT#${serviceKey()}`,
      sk: 'DELIVERY#v:v1',
      status: 'running',
      owner: 'request-0',
      leaseUntil: '2025-06-01T10:10:00.000Z',
    };
    m.table.items.set(`OBJECT#${serviceKey()}|DELIVERY#v:v1`, claim);
    const d = {
      ...deps(clock),
      sleep: (ms: number) => {
        clock.advance(ms);
        m.table.items.set(`OBJECT#${serviceKey()}|DELIVERY#v:v1`, { ...claim, status: 'deployed' });
        return Promise.resolve();
      },
    };
    const outcome = await processEvent(d, s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/duplicate delivery.*"deployed"/),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
  });

  test("Lambda's retry of a crashed invocation (same request id) retakes its claim and lease and deploys", async () => {
    m.table.items.set(`OBJECT#${serviceKey()}|DELIVERY#v:v1`, {
      pk: `OBJECT#${serviceKey()}`,
      sk: 'DELIVERY#v:v1',
      status: 'running',
      owner: 'request-1',
      leaseUntil: '2025-06-01T10:10:00.000Z',
    });
    m.table.items.set('BIOME#main|LOCK#service#ingest', {
      pk: 'BIOME#main',
      sk: 'LOCK#service#ingest',
      owner: 'request-1',
      expiresAt: '2025-06-01T10:10:00.000Z',
    });
    const outcome = await processEvent(deps(clock, 'request-1'), s3Event(serviceKey()));
    expect(outcome.status).toBe('deployed');
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({
      status: 'deployed',
      attempts: 1,
    });
    expect(m.table.get('BIOME#main', 'LOCK#service#ingest')?.owner).toBeUndefined();
  });

  test('a failure to record is not a stuck claim: claim and lease are released in finally, and the retry finishes', async () => {
    const failHistory = (i: PutCommandInput) => {
      if (String(i.Item?.sk).startsWith('HISTORY#')) throw new Error('InternalServerError');
      return m.table.onPut(i);
    };
    m.ddb.on(PutCommand).callsFake(failHistory);
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(/InternalServerError/);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
    expect(m.table.get('BIOME#main', 'LOCK#service#ingest')?.owner).toBeUndefined();

    m.ddb.on(PutCommand).callsFake((i: PutCommandInput) => m.table.onPut(i));
    clock.advance(60_000);
    const retried = await processEvent(deps(clock, 'request-2'), s3Event(serviceKey()));
    expect(retried).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/already live/) });
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
  });

  test('if recording live fails after the alias moved, a late older publication cannot move live backwards', async () => {
    const failLiveOnce = jest.fn((i: PutCommandInput) => {
      if (String(i.Item?.sk).startsWith('LIVE#') && failLiveOnce.mock.calls.length === 1) {
        throw new Error('InternalServerError');
      }
      return m.table.onPut(i);
    });
    m.ddb
      .on(PutCommand)
      .callsFake((i: PutCommandInput) =>
        String(i.Item?.sk).startsWith('LIVE#') ? failLiveOnce(i) : m.table.onPut(i),
      );
    m.s3.on(HeadObjectCommand).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    const newer = s3Event(serviceKey(SHA2), { id: 'event-new', versionId: 'v2' });
    await expect(processEvent(deps(clock), newer)).rejects.toThrow(/InternalServerError/);
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);

    m.s3.on(HeadObjectCommand).resolves(head(SHA, '2025-06-01T09:00:00Z'));
    clock.advance(1000);
    const older = await processEvent(
      deps(clock, 'request-2'),
      s3Event(serviceKey(SHA), { id: 'event-old', versionId: 'v1' }),
    );
    expect(older).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(
        /older than a pending move of live: .* b+ published at 2025-06-01T09:30:00.000Z/,
      ),
    });
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateFunctionCodeCommand, 1);
    // What the order check saw: the marker written before the alias moved.
    expect(m.table.get('BIOME#main', 'PENDING#service#ingest')).toMatchObject({
      sha: SHA2,
      publishedAt: '2025-06-01T09:30:00.000Z',
    });

    // Lambda's retry of the newer one finishes: live recorded, marker cleared.
    m.s3.on(HeadObjectCommand).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    const retried = await processEvent(deps(clock, 'request-3'), newer);
    expect(retried).toMatchObject({ status: 'deployed', sha: SHA2 });
    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({ sha: SHA2 });
    // Recorded, not removed: the marker stays the high-water mark of publication time.
    expect(m.table.get('BIOME#main', 'PENDING#service#ingest')).toMatchObject({
      publishedAt: '2025-06-01T09:30:00.000Z',
      recordedAt: expect.any(String),
    });
  });

  test('an older publication arriving after a newer one is skipped and changes nothing', async () => {
    m.s3.on(HeadObjectCommand).resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    await processEvent(deps(clock), s3Event(serviceKey(SHA2), { id: 'event-new', versionId: 'v2' }));
    m.lambda.resetHistory();
    m.ssm.resetHistory();

    m.s3.on(HeadObjectCommand).resolves(head(SHA, '2025-06-01T09:00:00Z'));
    clock.advance(1000);
    const outcome = await processEvent(
      deps(clock, 'request-2'),
      s3Event(serviceKey(SHA), { id: 'event-old' }),
    );
    expect(outcome).toMatchObject({
      status: 'skipped',
      previousSha: SHA2,
      reason: expect.stringMatching(
        /older than live: .*2025-06-01T09:00:00.000Z.* not newer than the live b+ published at 2025-06-01T09:30:00.000Z/,
      ),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({ sha: SHA2 });
  });

  test('a rollback (an old SHA published again, later) deploys', async () => {
    await processEvent(deps(clock), s3Event(serviceKey(SHA)));
    m.s3.on(HeadObjectCommand).resolves(head(SHA, '2025-06-01T11:00:00Z'));
    const outcome = await processEvent(
      deps(clock, 'r2'),
      s3Event(serviceKey(SHA), { id: 'event-2', versionId: 'v2' }),
    );
    expect(outcome.status).toBe('deployed');
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 2);
  });
});

describe('errors that retrying cannot fix are final, with what to do', () => {
  const denied = (name: string) => Object.assign(new Error(`not authorized (${name})`), { name });
  test.each([
    [
      'package too big unzipped',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message: 'Unzipped size must be smaller than 262144000 bytes',
        $metadata: {},
      }),
      /UpdateFunctionCode of .* failed \(InvalidParameterValueException: Unzipped size.*live unchanged.*shrink the bundle .* or fix the zip/,
    ],
    [
      'package unreadable (KMS or S3 denied to the caller)',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message: 'Error occurred while GetObject. S3 Error Code: AccessDenied',
        $metadata: {},
      }),
      /could not read the package .* fix the KMS key policy or the deploy trigger's role/,
    ],
    [
      'package unreadable (all access to the object disabled)',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message:
          'Error occurred while GetObject. S3 Error Code: AllAccessDisabled. S3 Error Message: All access to this object has been disabled',
        $metadata: {},
      }),
      /could not read the package/,
    ],
    [
      'package unreadable (KMS key disabled)',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message:
          'Error occurred while GetObject. S3 Error Code: KMS.DisabledException. S3 Error Message: key is disabled',
        $metadata: {},
      }),
      /could not read the package/,
    ],
    [
      'package unreadable (KMS key pending deletion)',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message: 'Error occurred while GetObject. S3 Error Code: KMS.KMSInvalidStateException',
        $metadata: {},
      }),
      /could not read the package/,
    ],
    [
      'package unreadable (KMS denied)',
      UpdateFunctionCodeCommand,
      new InvalidParameterValueException({
        message: 'Lambda could not decrypt the package: KMS Exception: AccessDeniedException',
        $metadata: {},
      }),
      /could not read the package/,
    ],
    [
      'code storage full',
      UpdateFunctionCodeCommand,
      new CodeStorageExceededException({ message: 'Code storage limit exceeded', $metadata: {} }),
      /code storage is full; delete old versions/,
    ],
    [
      'function gone (biome torn down)',
      GetFunctionCommand,
      new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }),
      /no longer exists, so biome "main" was torn down .*\(cdk deploy -c biome=main -c env=dev\), then re-run the pipeline/,
    ],
    [
      'access denied by the role',
      PublishVersionCommand,
      denied('AccessDeniedException'),
      /access denied \(AccessDeniedException.*fix the KMS key policy or the deploy trigger's role/,
    ],
  ])(
    '%s: recorded failed, returned (not retried), live unchanged',
    async (_label, command, error, reason) => {
      m.lambda.on(command).rejects(error);
      const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
      expect(outcome).toMatchObject({ status: 'failed', reason: expect.stringMatching(reason) });
      expectNothingLiveChanged();
      expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'failed' });
      expect(m.table.get('BIOME#main', 'LOCK#service#ingest')?.owner).toBeUndefined();
    },
  );

  test('a KMS or S3 denial on the model copy is final too', async () => {
    m.s3.on(CopyObjectCommand).rejects(s3Error('AccessDenied', 403));
    const outcome = await processEvent(deps(clock), s3Event(modelKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /access denied \(AccessDenied.*key policy or the deploy trigger's role.*pointer|live unchanged/,
      ),
    });
    expectNothingLiveChanged();
  });

  /** What Lambda's UpdateFunctionCode says when its own GetObject of the package fails. */
  const getObjectFailed = (code: string) =>
    new InvalidParameterValueException({
      message: `Error occurred while GetObject. S3 Error Code: ${code}. S3 Error Message: try again`,
      $metadata: {},
    });
  test.each([
    ['throttling', new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} })],
    ['a 5xx', new ServiceException({ message: 'internal error', $metadata: {} })],
    ['S3 SlowDown while Lambda reads the package', getObjectFailed('SlowDown')],
    ['S3 InternalError while Lambda reads the package', getObjectFailed('InternalError')],
    ['S3 ServiceUnavailable while Lambda reads the package', getObjectFailed('ServiceUnavailable')],
    ['a KMS throttle while Lambda reads the package', getObjectFailed('KMS.ThrottlingException')],
  ])('%s stays retryable: recorded, rethrown, claim retryable', async (_label, error) => {
    m.lambda.on(UpdateFunctionCodeCommand).rejects(error);
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(error.message);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
    expectNothingLiveChanged();
  });
});

describe('every wait fits in the time the invocation has left', () => {
  /** Leaves `ms` usable (beyond the reserve kept to record the outcome) from now on. */
  const leave = (ms: number) => {
    clock.deadline = clock.ms + RESERVE_MS + ms;
  };

  test('a smoke check that does not answer ends in a retryable "out of time" before the function times out', async () => {
    // Only setTimeout is faked (the budget's timer); the fake Clock drives the rest.
    jest.useFakeTimers({ doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask', 'performance'] });
    try {
      m.lambda.on(PublishVersionCommand).callsFake(() => {
        leave(MIN_STEP_MS + 1_000);
        return { Version: '4' };
      });
      let invoked!: () => void;
      const started = new Promise<void>((resolve) => (invoked = resolve));
      m.lambda.on(InvokeCommand).callsFake(() => {
        invoked();
        return new Promise(() => undefined);
      });
      const settled = expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
        /the smoke check of .* version 4 did not finish within 6 s, all this invocation had left/,
      );
      await started;
      jest.advanceTimersByTime(MIN_STEP_MS + 1_000);
      await settled;
    } finally {
      jest.useRealTimers();
    }
    expectNothingLiveChanged();
    expect(only(m.table)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^OutOfTime: .*live unchanged/),
    });
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
  });

  test('too little time to start a code update: retryable, nothing updated', async () => {
    m.lambda.on(GetAliasCommand).callsFake(() => {
      leave(1_000);
      return { FunctionVersion: '3', RevisionId: 'alias-rev' };
    });
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
      /out of time before updating the code of biomes-dev-main-Ingest-abc/,
    );
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'retryable' });
  });

  test('the wait for the code update is capped by the time left', async () => {
    m.lambda.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: FUNCTION_ARN, LastUpdateStatus: 'InProgress' },
      Tags: { app: 'biomes', env: 'dev', biome: 'main', deployable: 'true' },
    });
    m.lambda.on(GetFunctionConfigurationCommand).resolves({ LastUpdateStatus: 'InProgress' });
    m.lambda.on(UpdateFunctionCodeCommand).callsFake(() => {
      leave(2_500);
      return { CodeSha256: 'code-sha', FunctionArn: FUNCTION_ARN };
    });
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
      /code update of .* did not finish within 2 s \(all this invocation had left; status InProgress\); live unchanged/,
    );
    expect(m.lambda).not.toHaveReceivedCommand(PublishVersionCommand);
    expectNothingLiveChanged();
  }, 10_000);

  test('the wait for the lease is capped by the time left', async () => {
    m.table.items.set('BIOME#main|LOCK#service#ingest', {
      pk: 'BIOME#main',
      sk: 'LOCK#service#ingest',
      owner: 'someone-else',
      expiresAt: '2025-06-01T10:05:00.000Z',
    });
    leave(10_000);
    await expect(processEvent(deps(clock), s3Event(serviceKey()))).rejects.toThrow(
      /held the lease for 10 s, all this invocation had left/,
    );
    expect(clock.ms - START).toBeLessThanOrEqual(10_000);
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
  });

  test('validation retries stop when the backoff would not fit: retryable, pointer unchanged', async () => {
    m.sagemaker
      .on(InvokeEndpointCommand)
      .rejects(new ModelNotReadyException({ message: 'loading', $metadata: {} }));
    m.s3.on(CopyObjectCommand).callsFake(() => {
      leave(6_000);
      return {};
    });
    await expect(processEvent(deps(clock), s3Event(modelKey()))).rejects.toThrow(
      /out of time before retrying the validation of main\/ranker-a+\.tar\.gz on endpoint mme/,
    );
    expect(m.sagemaker).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
    expectNothingLiveChanged();
  });
});

describe('unknown biome is decided only after every page', () => {
  test('an empty first page with a NextToken is followed: a known biome, an unknown service', async () => {
    m.ssm
      .on(GetParametersByPathCommand, { Path: '/biomes/dev/main' })
      .callsFake((input) =>
        input.NextToken === 'page-2'
          ? { Parameters: [{ Name: 'x' }] }
          : { Parameters: [], NextToken: 'page-2' },
      );
    const outcome = await processEvent(deps(clock), s3Event(`main/billing-${SHA}.zip`));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/unknown service "billing" in biome "main"/),
    });
    expect(m.ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, 2);
  });

  test('the unknown-biome rejection says to deploy the biome and then re-run the pipeline', async () => {
    m.ssm
      .on(GetParametersByPathCommand, { Path: '/biomes/dev/bob' })
      .callsFake((input) => (input.NextToken ? { Parameters: [] } : { Parameters: [], NextToken: 'page-2' }));
    const outcome = await processEvent(deps(clock), s3Event(`bob/ingest-${SHA}.zip`));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /unknown biome "bob" .*cdk deploy -c biome=bob -c env=dev\), then re-run the pipeline/,
      ),
    });
    expect(m.ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, 2);
  });

  test('pages that never end in an answer are retryable, not "unknown biome"', async () => {
    m.ssm.on(GetParametersByPathCommand).resolves({ Parameters: [], NextToken: 'more' });
    await expect(processEvent(deps(clock), s3Event(`bob/ingest-${SHA}.zip`))).rejects.toThrow(
      /could not tell whether anything is registered under \/biomes\/dev\/bob\//,
    );
  });
});

describe('order safety does not rest on the lease alone', () => {
  test('a stale run that lost its lease cannot move a model pointer back after a newer publication went live and finished', async () => {
    const newerKey = modelKey(SHA2);
    m.s3
      .on(HeadObjectCommand, { Bucket: 'landing', Key: newerKey })
      .resolves(head(SHA2, '2025-06-01T09:30:00Z'));
    let newer: Awaited<ReturnType<typeof processEvent>> | undefined;
    let inside = false;
    // The older run is validating when its lease is lost; the newer publication then deploys end to
    // end, records live and releases everything, before the older run goes on to move the pointer.
    m.sagemaker.on(InvokeEndpointCommand).callsFake(async () => {
      if (inside || newer) return endpointAnswer(GOOD_ANSWER);
      inside = true;
      m.table.items.delete('BIOME#main|LOCK#model#ranker');
      newer = await processEvent(
        deps(clock, 'request-new'),
        s3Event(newerKey, { id: 'event-new', versionId: 'v2' }),
      );
      inside = false;
      return endpointAnswer(GOOD_ANSWER);
    });
    const older = await processEvent(
      deps(clock, 'request-old'),
      s3Event(modelKey(SHA), { id: 'event-old', versionId: 'v1' }),
    );
    expect(newer).toMatchObject({ status: 'deployed', sha: SHA2 });
    expect(older).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/a publication newer than 2025-06-01T09:00:00.000Z started moving live/),
    });
    // The pointer moved once, forward; never back to the older commit.
    expect(m.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Value)).toEqual([
      `main/ranker-${SHA2}.tar.gz`,
    ]);
    expect(m.table.get('BIOME#main', 'LIVE#model#ranker')).toMatchObject({ sha: SHA2 });
    expect(m.ddb).toHaveReceivedCommand(TransactWriteCommand);
  });

  test('an SDK retry of the live-record Put that already succeeded does not turn the deploy into a failure', async () => {
    let lost = true;
    m.ddb.on(PutCommand).callsFake((i: PutCommandInput) => {
      if (lost && String(i.Item?.sk).startsWith('LIVE#')) {
        lost = false;
        // The first attempt is written but its answer is lost; the SDK sends the same Put again.
        m.table.onPut(i);
      }
      return m.table.onPut(i);
    });
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({ status: 'deployed', deployedRef: '4' });
    expect(m.table.get('BIOME#main', 'LIVE#service#ingest')).toMatchObject({ sha: SHA, deployedRef: '4' });
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'deployed' });
  });
});

describe('a holder is waited on for as long as the budget allows', () => {
  test('a newer publication waits out a deploy that holds the lease for 9 minutes, then deploys', async () => {
    const lock = 'BIOME#main|LOCK#service#ingest';
    m.table.items.set(lock, {
      pk: 'BIOME#main',
      sk: 'LOCK#service#ingest',
      owner: 'request-0',
      token: 'request-0:attempt',
      expiresAt: '2025-06-01T10:11:00.000Z',
    });
    const d = {
      ...deps(clock),
      sleep: (ms: number) => {
        clock.advance(ms);
        // The holder finishes after 9 minutes and releases the lease.
        if (clock.ms - START >= 540_000)
          m.table.items.set(lock, { pk: 'BIOME#main', sk: 'LOCK#service#ingest' });
        return Promise.resolve();
      },
    };
    const outcome = await processEvent(d, s3Event(serviceKey()));
    expect(outcome).toMatchObject({ status: 'deployed', sha: SHA });
    expect(clock.ms - START).toBeGreaterThanOrEqual(540_000);
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
  });

  test('a duplicate waits out a first delivery that runs for 8 minutes, then is skipped', async () => {
    const id = `OBJECT#${serviceKey()}|DELIVERY#v:v1`;
    const claim = {
      pk: `OBJECT#${serviceKey()}`,
      sk: 'DELIVERY#v:v1',
      status: 'running',
      owner: 'request-0',
      token: 'request-0:attempt',
      leaseUntil: '2025-06-01T10:11:00.000Z',
    };
    m.table.items.set(id, claim);
    const d = {
      ...deps(clock),
      sleep: (ms: number) => {
        clock.advance(ms);
        if (clock.ms - START >= 480_000) m.table.items.set(id, { ...claim, status: 'deployed' });
        return Promise.resolve();
      },
    };
    const outcome = await processEvent(d, s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/duplicate delivery.*"deployed"/),
    });
    expect(m.lambda).not.toHaveReceivedCommand(UpdateFunctionCodeCommand);
  });
});

describe('redrive from the dead-letter queue', () => {
  /** What Lambda's async on-failure destination writes to the queue after the last retry. */
  const onFailureRecord = (payload: unknown) => ({
    version: '1.0',
    timestamp: '2025-06-01T10:30:00.000Z',
    requestContext: {
      requestId: 'request-failed',
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:trigger:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: payload,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'Retryable', errorMessage: 'another deploy held the lease' },
  });

  test('an on-failure record deploys the event it carries, under that event id', async () => {
    const outcome = await processEvent(
      deps(clock, 'request-redrive'),
      onFailureRecord(s3Event(serviceKey())),
    );
    expect(outcome).toMatchObject({ status: 'deployed', eventId: 'event-1', key: serviceKey() });
    expect(m.lambda).toHaveReceivedCommandTimes(UpdateAliasCommand, 1);
  });

  test('a redrive after the failed run left its claim retryable deploys; after a deploy it is a duplicate', async () => {
    m.table.items.set(`OBJECT#${serviceKey()}|DELIVERY#v:v1`, {
      pk: `OBJECT#${serviceKey()}`,
      sk: 'DELIVERY#v:v1',
      status: 'retryable',
      owner: 'request-failed',
      token: 'request-failed:attempt-3',
    });
    const record = onFailureRecord(s3Event(serviceKey()));
    expect(await processEvent(deps(clock, 'request-redrive'), record)).toMatchObject({ status: 'deployed' });
    expect(await processEvent(deps(clock, 'request-redrive-2'), record)).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/duplicate delivery/),
    });
  });

  test('a record that carries no S3 event is still rejected with a reason', async () => {
    const outcome = await processEvent(deps(clock), onFailureRecord({ hello: 'world' }));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/not an S3 EventBridge event/),
    });
  });
});

describe('HeadObject of the landing object: 404 is "gone", 403 is a denial', () => {
  test('a missing object (404, which s3:ListBucket makes S3 answer) is rejected as gone', async () => {
    m.s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/no longer exists or is a delete marker/),
    });
    expectNothingLiveChanged();
  });

  test('a 403 stays a final access denial: recorded failed, not retried', async () => {
    m.s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    const outcome = await processEvent(deps(clock), s3Event(serviceKey()));
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/access denied \(Forbidden.*the deploy trigger's role/),
    });
    expect(m.table.get(`OBJECT#${serviceKey()}`, 'DELIVERY#v:v1')).toMatchObject({ status: 'failed' });
    expectNothingLiveChanged();
  });
});

describe("a sandpit's failed or rejected deploys reach its owner", () => {
  const notices: { biome: string; subject: string; message: string }[] = [];
  const withOwners = () => ({
    ...deps(clock),
    notifyOwner: (biome: string, subject: string, message: string) => {
      notices.push({ biome, subject, message });
      return Promise.resolve();
    },
  });
  beforeEach(() => {
    notices.length = 0;
  });

  test('a rejected sandpit artifact (a service the biome does not register) tells the owner why', async () => {
    const outcome = await processEvent(withOwners(), s3Event(`alice/ingest-${SHA}.zip`));
    expect(outcome.status).toBe('rejected');
    expect(notices).toEqual([
      {
        biome: 'alice',
        subject: 'Biomes sandpit alice: service ingest rejected',
        message: expect.stringContaining(
          `alice/ingest-${SHA}.zip (commit ${SHA}) to sandpit alice was rejected: `,
        ),
      },
    ]);
    expect(notices[0]!.message).toContain('What is live did not change.');
  });

  describe("a failed deploy of alice's own service", () => {
    const alice = settings.scope.biome('alice');
    beforeEach(() => {
      m.ssm.on(GetParameterCommand, { Name: alice.serviceRegistration('ingest') }).resolves({
        Parameter: {
          Value: JSON.stringify({
            functionName: 'biomes-dev-alice-ingest',
            alias: 'live',
            smokeCheck: { payload: { smoke: true } },
          }),
        },
      });
      m.ssm
        .on(GetParametersByPathCommand, { Path: '/biomes/dev/alice' })
        .resolves({ Parameters: [{ Name: 'x' }] });
      m.lambda.on(GetFunctionCommand).resolves({
        Configuration: {
          FunctionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:biomes-dev-alice-ingest',
          LastUpdateStatus: 'Successful',
          RevisionId: 'rev-updated',
          Environment: { Variables: { BIOMES_APP: 'biomes', BIOMES_DB_NAME: 'biome_alice' } },
        },
        Tags: { app: 'biomes', env: 'dev', biome: 'alice', deployable: 'true' },
      });
    });

    test('its smoke check failing (final): the owner is told it failed, why, and that live did not change', async () => {
      m.lambda.on(InvokeCommand).resolves({
        FunctionError: 'Unhandled',
        Payload: new TextEncoder().encode('{"errorMessage":"boom"}') as never,
      });
      const outcome = await processEvent(withOwners(), s3Event(`alice/ingest-${SHA}.zip`));
      expect(outcome.status).toBe('failed');
      expect(notices).toEqual([
        {
          biome: 'alice',
          subject: 'Biomes sandpit alice: service ingest failed',
          message: expect.stringContaining(`to sandpit alice was failed: ${outcome.reason}`),
        },
      ]);
      expect(notices[0]!.message).toContain('What is live did not change.');
    });

    test('a failure Lambda retries (throttled) tells nobody yet: only the final outcome does', async () => {
      m.lambda
        .on(UpdateFunctionCodeCommand)
        .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }));
      await expect(processEvent(withOwners(), s3Event(`alice/ingest-${SHA}.zip`))).rejects.toThrow();
      expect(notices).toEqual([]);
    });
  });

  test("main's outcomes go to the team's alarms, not to an owner", async () => {
    m.ssm
      .on(GetParameterCommand, { Name: main.serviceRegistration('ingest') })
      .rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const outcome = await processEvent(withOwners(), s3Event(serviceKey()));
    expect(outcome.status).toBe('rejected');
    expect(notices).toEqual([]);
  });

  test('an off-grammar key names no biome: nobody to tell', async () => {
    await processEvent(withOwners(), s3Event('alice/ingest.zip'));
    expect(notices).toEqual([]);
  });

  test('a lost notice does not change the recorded outcome', async () => {
    const outcome = await processEvent(
      { ...deps(clock), notifyOwner: () => Promise.reject(new Error('SNS down')) },
      s3Event(`alice/ingest-${SHA}.zip`),
    );
    expect(outcome.status).toBe('rejected');
  });
});
