/** The model cleanup handler with a mocked S3 client. */
import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../../lambda/biome-models/handler';
import { onEvent, type Dependencies } from '../../../lambda/biome-models/on-event';
import { biomeModelPrefix, PROPERTY } from '../../../lambda/biome-models/properties';
import { BiomeScope } from '../../../lambda/shared/scope';

const s3 = mockClient(S3Client);
const logs: string[] = [];
const deps = (): Dependencies => ({
  s3: new S3Client({}),
  log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`) },
});
const props = (overrides: Record<string, unknown> = {}) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:provider',
  Bucket: 'biomes-dev-models',
  ModelPrefix: 'models/',
  Env: 'dev',
  Biome: 'alice',
  Protected: 'false',
  ...overrides,
});
const del = (overrides: Record<string, unknown> = {}) => ({
  RequestType: 'Delete',
  PhysicalResourceId: 's3://biomes-dev-models/models/alice/',
  ResourceProperties: props(overrides),
});

beforeEach(() => {
  s3.reset();
  logs.length = 0;
  s3.on(DeleteObjectsCommand).resolves({});
});

test.each(['Create', 'Update'])('%s does nothing in S3 and names the location', async (RequestType) => {
  const out = await onEvent(
    { RequestType, PhysicalResourceId: 'old', ResourceProperties: props(), OldResourceProperties: props() },
    deps(),
  );
  expect(out).toEqual({ PhysicalResourceId: 's3://biomes-dev-models/models/alice/' });
  expect(s3.calls()).toHaveLength(0);
});

test('Delete pages through every version and delete marker under the biome prefix only', async () => {
  s3.on(ListObjectVersionsCommand)
    .resolvesOnce({
      IsTruncated: true,
      NextKeyMarker: 'models/alice/m-2.tar.gz',
      NextVersionIdMarker: 'v2',
      Versions: [
        { Key: 'models/alice/m-1.tar.gz', VersionId: 'v1' },
        { Key: 'models/alice/m-2.tar.gz', VersionId: 'v2' },
      ],
    })
    .resolvesOnce({
      IsTruncated: false,
      Versions: [
        { Key: 'models/alice/m-3.tar.gz', VersionId: 'null' },
        // S3 would never list this for the prefix; the handler must not trust that it cannot happen.
        { Key: 'models/alice-b/m-1.tar.gz', VersionId: 'x' },
      ],
      DeleteMarkers: [{ Key: 'models/alice/m-4.tar.gz', VersionId: 'dm' }],
    });
  await onEvent(del(), deps());

  expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 2);
  const listed = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
  expect(listed).toEqual([
    {
      Bucket: 'biomes-dev-models',
      Prefix: 'models/alice/',
      KeyMarker: undefined,
      VersionIdMarker: undefined,
    },
    {
      Bucket: 'biomes-dev-models',
      Prefix: 'models/alice/',
      KeyMarker: 'models/alice/m-2.tar.gz',
      VersionIdMarker: 'v2',
    },
  ]);
  const deleted = s3.commandCalls(DeleteObjectsCommand).flatMap((c) => c.args[0].input.Delete?.Objects ?? []);
  expect(deleted).toEqual([
    { Key: 'models/alice/m-1.tar.gz', VersionId: 'v1' },
    { Key: 'models/alice/m-2.tar.gz', VersionId: 'v2' },
    { Key: 'models/alice/m-3.tar.gz', VersionId: 'null' },
    { Key: 'models/alice/m-4.tar.gz', VersionId: 'dm' },
  ]);
  expect(logs).toContain('warn skipping a listed key outside the biome prefix');
});

test('an empty prefix makes no delete call', async () => {
  s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false });
  await onEvent(del({ ModelPrefix: '' }), deps());
  expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Prefix: 'alice/' });
  expect(s3).not.toHaveReceivedCommand(DeleteObjectsCommand);
});

test('per-object delete errors fail the resource with the keys', async () => {
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'models/alice/m.tar.gz', VersionId: 'v' }] });
  s3.on(DeleteObjectsCommand).resolves({
    Errors: [{ Key: 'models/alice/m.tar.gz', VersionId: 'v', Code: 'AccessDenied', Message: 'denied' }],
  });
  await expect(onEvent(del(), deps())).rejects.toThrow(/Could not delete 1 model object\(s\).*AccessDenied/);
});

test('a protected main (Protected "true") keeps its models: no S3 call, a log line says why', async () => {
  await onEvent(del({ Env: 'prod', Biome: 'main', Protected: 'true' }), deps());
  expect(s3.calls()).toHaveLength(0);
  expect(logs).toEqual([expect.stringMatching(/^warn keeping the models of prod main/)]);
});

test.each([
  [
    'an unprotected main, even named prod',
    { Env: 'prod', Biome: 'main', Protected: 'false' },
    'models/main/',
  ],
  [
    'a sandpit of a protected environment',
    { Env: 'prod', Biome: 'alice', Protected: 'true' },
    'models/alice/',
  ],
])('%s has its models deleted: the Protected flag and the biome decide', async (_what, overrides, prefix) => {
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: `${prefix}m.tar.gz`, VersionId: 'v' }] });
  await onEvent(del(overrides), deps());
  expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Prefix: prefix });
  expect(s3).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
});

test("the biome's prefix is BiomeScope.modelPrefix, whatever the app", () => {
  for (const app of ['biomes', 'other-app']) {
    expect(new BiomeScope(app, 'dev', 'alice').modelPrefix('models/')).toBe(
      biomeModelPrefix({ modelPrefix: 'models/', env: 'dev', biome: 'alice' }),
    );
  }
  expect(biomeModelPrefix({ modelPrefix: '', env: 'dev', biome: 'alice-b' })).toBe('alice-b/');
  expect(PROPERTY.protected).toBe('Protected');
});

describe('bad input', () => {
  test.each([
    [{ Biome: 'Alice' }, /Biome: "Alice" must match/],
    [{ Biome: 'shared' }, /Biome: "shared" is reserved/],
    [{ ModelPrefix: 'models' }, /ModelPrefix: must be "" or a key prefix ending in "\/"/],
    [{ ModelPrefix: '/' }, /ModelPrefix: /],
    [{ Bucket: 'Not_A_Bucket' }, /Bucket: must be an S3 bucket name/],
    [{ Env: 'QA' }, /Env: "QA" must match/],
    [{ Env: 'shared' }, /Env: "shared" is reserved/],
    [
      { Protected: 'no' },
      /Protected: must be the string "true" or "false" \(the environment's protected flag\)/,
    ],
  ])('Create with %j is refused, naming the property', async (overrides, message) => {
    await expect(
      onEvent({ RequestType: 'Create', ResourceProperties: props(overrides) }, deps()),
    ).rejects.toThrow(message);
  });

  test('Delete with invalid properties (a refused Create) succeeds without touching S3', async () => {
    await onEvent(del({ Biome: '../..' }), deps());
    expect(s3.calls()).toHaveLength(0);
    expect(logs[0]).toMatch(/nothing to clean up/);
  });

  test('Delete with an invalid Protected property deletes nothing', async () => {
    for (const Protected of ['TRUE', 'no']) {
      await onEvent(del({ Protected }), deps());
    }
    expect(s3.calls()).toHaveLength(0);
    expect(logs).toEqual([
      expect.stringMatching(/nothing to clean up/),
      expect.stringMatching(/nothing to clean up/),
    ]);
  });

  test('Delete without Protected (a resource from before the property existed) keeps main, cleans a sandpit', async () => {
    const { Protected: _absent, ...old } = props({ Env: 'prod', Biome: 'main' });
    await onEvent({ ...del(), ResourceProperties: old }, deps());
    expect(s3.calls()).toHaveLength(0);
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: 'models/alice/m.tar.gz', VersionId: 'v' }],
    });
    const { Protected: _none, ...sandpit } = props();
    await onEvent({ ...del(), ResourceProperties: sandpit }, deps());
    expect(s3).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
  });

  test('an environment by the grammar, not a fixed list, is accepted', async () => {
    await expect(
      onEvent({ RequestType: 'Create', ResourceProperties: props({ Env: 'qa' }) }, deps()),
    ).resolves.toEqual({ PhysicalResourceId: 's3://biomes-dev-models/models/alice/' });
  });

  test('an unknown request type is refused', async () => {
    await expect(onEvent({ RequestType: 'Purge', ResourceProperties: props() }, deps())).rejects.toThrow(
      /Not a CloudFormation custom resource event/,
    );
  });
});

test('the Lambda handler wires the module-scope client (mocked) to onEvent', async () => {
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'models/alice/m.tar.gz', VersionId: 'v' }] });
  await expect(handler(del())).resolves.toEqual({
    PhysicalResourceId: 's3://biomes-dev-models/models/alice/',
  });
  expect(s3).toHaveReceivedCommandTimes(DeleteObjectsCommand, 1);
});
