/** The sweep end to end against aws-sdk-client-mock: what it deletes, tells and writes. */
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type Deps, type SweepEntry, sweep } from '../../../lambda/sandpit-sweeper/sweep';
import {
  DAY_MS,
  EXECUTION_ROLE,
  FakeLedger,
  NOW,
  OWNERS_TOPIC,
  before,
  describedStack,
  fakeLogger,
  settings,
} from './fakes';

const cfn = mockClient(CloudFormationClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);
let ledger: FakeLedger;
let logger: ReturnType<typeof fakeLogger>;

function deps(): Deps {
  return {
    cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
    sns: new SNSClient({ region: 'eu-west-1' }),
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    settings,
    logger,
    runId: 'run-1',
  };
}

function listing(...stacks: Stack[]): void {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: stacks });
}

/** A stack whose expiry (7-day lifetime) is `leftMs` after NOW. */
function expiring(biome: string, leftMs: number, o: Parameters<typeof describedStack>[1] = {}): Stack {
  return describedStack(biome, { updated: before(7 * DAY_MS - leftMs), ...o });
}

function entry(report: { sandpits: readonly SweepEntry[] }, biome: string): SweepEntry {
  const found = report.sandpits.find((e) => e.biome === biome);
  if (!found) throw new Error(`no entry for ${biome}`);
  return found;
}

beforeEach(() => {
  cfn.reset();
  sns.reset();
  ddb.reset();
  ledger = new FakeLedger();
  logger = fakeLogger();
  ddb.on(GetCommand).callsFake((i: GetCommandInput) => ledger.onGet(i));
  ddb.on(PutCommand).callsFake((i: PutCommandInput) => ledger.onPut(i));
  ddb.on(UpdateCommand).callsFake((i: UpdateCommandInput) => ledger.onUpdate(i));
  cfn.on(DeleteStackCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

afterAll(() => {
  cfn.restore();
  sns.restore();
  ddb.restore();
});

test('lists every page of stacks and sweeps only this app and environment’s sandpits', async () => {
  cfn
    .on(DescribeStacksCommand)
    .resolvesOnce({
      Stacks: [describedStack('main'), describedStack('alice', { app: 'other' }), expiring('bob', -1)],
      NextToken: 'page-2',
    })
    .resolvesOnce({
      Stacks: [
        describedStack('carol', { env: 'staging' }),
        describedStack('x', { name: 'biomes-dev-shared', tags: { biome: undefined } }),
        expiring('dave', 5 * DAY_MS),
      ],
    });
  const report = await sweep(deps(), NOW);
  expect(cfn).toHaveReceivedCommandTimes(DescribeStacksCommand, 2);
  expect(cfn).toHaveReceivedNthSpecificCommandWith(2, DescribeStacksCommand, { NextToken: 'page-2' });
  expect(report.sandpits.map((e) => [e.biome, e.action])).toEqual([
    ['bob', 'expired'],
    ['dave', 'none'],
  ]);
  expect(cfn).toHaveReceivedCommandTimes(DeleteStackCommand, 1);
  expect(cfn).toHaveReceivedCommandWith(DeleteStackCommand, { StackName: 'biomes-dev-bob' });
  // Nothing is ever asked of main's ledger record, or of another app's.
  expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key)).toEqual([
    { pk: 'BIOME#bob', sk: 'SANDPIT' },
    { pk: 'BIOME#dave', sk: 'SANDPIT' },
  ]);
});

test('an expired sandpit: one DeleteStack with the execution role and a deterministic token, recorded, owner told', async () => {
  listing(expiring('alice', -1));
  const report = await sweep(deps(), NOW);

  const expiresAt = new Date(NOW.getTime() - 1).toISOString();
  expect(entry(report, 'alice')).toEqual({
    biome: 'alice',
    stackName: 'biomes-dev-alice',
    owner: 'alice@example.com',
    expiresAt,
    action: 'expired',
    detail: `expired at ${expiresAt}: deleting`,
  });
  expect(cfn).toHaveReceivedCommandTimes(DeleteStackCommand, 1);
  expect(cfn.commandCalls(DeleteStackCommand)[0]!.args[0].input).toEqual({
    StackName: 'biomes-dev-alice',
    RoleARN: EXECUTION_ROLE,
    ClientRequestToken: 'sandpit-sweep-alice-20250610T055959999Z',
  });
  expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  const publish = sns.commandCalls(PublishCommand)[0]!.args[0].input;
  expect(publish).toMatchObject({
    TopicArn: OWNERS_TOPIC,
    Subject: 'Sandpit biomes-dev-alice expired: deleting',
    MessageAttributes: { biome: { DataType: 'String', StringValue: 'alice' } },
  });
  expect(publish.Message).toContain('started deleting its stack biomes-dev-alice');

  // A sandpit the recorder never saw: the record is created, with the live index's keys.
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toEqual({
    pk: 'BIOME#alice',
    sk: 'SANDPIT',
    biome: 'alice',
    stackName: 'biomes-dev-alice',
    owner: 'alice@example.com',
    ttlDays: 7,
    keep: false,
    lastDeployAt: before(7 * DAY_MS + 1).toISOString(),
    expiresAt,
    status: 'expired',
    sweptAt: NOW.toISOString(),
    livePartition: 'LIVE',
    liveSort: 'alice#sandpit',
  });
  expect(ledger.query('BIOME#alice', 'HISTORY#sandpit#')).toEqual([
    {
      pk: 'BIOME#alice',
      sk: `HISTORY#sandpit#${NOW.toISOString()}#run-1`,
      status: 'expired',
      reason: `expired at ${expiresAt}: deleting`,
      biome: 'alice',
      owner: 'alice@example.com',
      expiresAt,
      source: 'sweeper',
      recordedAt: NOW.toISOString(),
    },
  ]);
  expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: 'ledger', ConsistentRead: true });
});

test('a retried invocation sends the same DeleteStack token', async () => {
  listing(expiring('alice', -DAY_MS));
  await sweep(deps(), NOW);
  await sweep(deps(), new Date(NOW.getTime() + 60_000));
  const tokens = cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.ClientRequestToken);
  expect(tokens).toHaveLength(2);
  expect(tokens[0]).toBe(tokens[1]);
});

test('an existing record keeps what the recorder wrote; the sweep sets status and expiry only', async () => {
  ledger.put({
    pk: 'BIOME#alice',
    sk: 'SANDPIT',
    biome: 'alice',
    stackName: 'biomes-dev-alice',
    owner: 'alice@corp.example',
    ttlDays: 7,
    keep: false,
    lastDeployAt: before(6.5 * DAY_MS).toISOString(),
    expiresAt: new Date(NOW.getTime() + DAY_MS / 2).toISOString(),
    commit: 'a'.repeat(40),
    status: 'active',
    livePartition: 'LIVE',
    liveSort: 'alice#sandpit',
  });
  // The stack alone (updated 8 days ago) would be expired; the ledger's later deploy makes it "tell".
  listing(expiring('alice', -DAY_MS));
  const report = await sweep(deps(), NOW);
  const expiresAt = new Date(NOW.getTime() + DAY_MS / 2).toISOString();
  expect(entry(report, 'alice')).toMatchObject({ action: 'notified', expiresAt });
  expect(cfn).not.toHaveReceivedCommand(DeleteStackCommand);
  expect(sns).toHaveReceivedCommandWith(PublishCommand, {
    TopicArn: OWNERS_TOPIC,
    Subject: `Sandpit biomes-dev-alice expires ${expiresAt}`,
    MessageAttributes: { biome: { DataType: 'String', StringValue: 'alice' } },
  });
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toEqual({
    pk: 'BIOME#alice',
    sk: 'SANDPIT',
    biome: 'alice',
    stackName: 'biomes-dev-alice',
    owner: 'alice@corp.example',
    ttlDays: 7,
    keep: false,
    lastDeployAt: before(6.5 * DAY_MS).toISOString(),
    expiresAt,
    commit: 'a'.repeat(40),
    status: 'notified',
    noticeSentFor: expiresAt,
    sweptAt: NOW.toISOString(),
    livePartition: 'LIVE',
    liveSort: 'alice#sandpit',
  });
  expect(ledger.query('BIOME#alice', 'HISTORY#sandpit#')).toHaveLength(1);

  // The next run (an hour later, same expiry) tells nobody and writes nothing.
  sns.resetHistory();
  ddb.resetHistory();
  const later = await sweep(deps(), new Date(NOW.getTime() + 60 * 60 * 1000));
  expect(entry(later, 'alice')).toMatchObject({ action: 'none' });
  expect(sns).not.toHaveReceivedCommand(PublishCommand);
  expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  expect(ddb).not.toHaveReceivedCommand(PutCommand);
});

test('a kept sandpit past its expiry: reported once per expiry, never deleted', async () => {
  listing(expiring('alice', -DAY_MS, { tags: { keep: 'true' } }));
  const first = await sweep(deps(), NOW);
  expect(entry(first, 'alice').action).toBe('kept');
  expect(sns).toHaveReceivedCommandWith(PublishCommand, {
    Subject: 'Sandpit biomes-dev-alice is past its expiry (kept)',
    MessageAttributes: { biome: { DataType: 'String', StringValue: 'alice' } },
  });
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toMatchObject({ status: 'kept', keep: true });

  sns.resetHistory();
  ddb.resetHistory();
  const second = await sweep(deps(), new Date(NOW.getTime() + DAY_MS));
  expect(entry(second, 'alice')).toMatchObject({
    action: 'kept',
    detail: expect.stringMatching(/already reported/),
  });
  expect(sns).not.toHaveReceivedCommand(PublishCommand);
  expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  expect(cfn).not.toHaveReceivedCommand(DeleteStackCommand);
});

test('DELETE_FAILED: recorded expiry-failed with the reason, owner told how to fix it, delete retried exactly once', async () => {
  const reason = 'The following resource(s) failed to delete: [DataBucket1234]. ';
  ledger.put({ pk: 'BIOME#alice', sk: 'SANDPIT', status: 'expired', owner: 'alice@example.com' });
  listing(expiring('alice', -DAY_MS, { status: 'DELETE_FAILED', reason }));
  const report = await sweep(deps(), NOW);
  const expiresAt = before(DAY_MS);

  expect(entry(report, 'alice')).toMatchObject({ action: 'expiry-failed' });
  expect(cfn).toHaveReceivedCommandTimes(DeleteStackCommand, 1);
  expect(cfn.commandCalls(DeleteStackCommand)[0]!.args[0].input).toEqual({
    StackName: 'biomes-dev-alice',
    RoleARN: EXECUTION_ROLE,
    ClientRequestToken: 'sandpit-sweep-alice-20250609T060000000Z-retry-20250610',
  });
  const publish = sns.commandCalls(PublishCommand)[0]!.args[0].input;
  expect(publish.Subject).toBe('Sandpit biomes-dev-alice: its expiry delete failed');
  expect(publish.MessageAttributes).toEqual({ biome: { DataType: 'String', StringValue: 'alice' } });
  expect(publish.Message).toContain(reason);
  expect(publish.Message).toContain('once a day');
  expect(publish.Message).toContain('cdk destroy -c biome=alice -c env=dev');
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toMatchObject({
    status: 'expiry-failed',
    expiresAt: expiresAt.toISOString(),
  });
  expect(ledger.query('BIOME#alice', 'HISTORY#sandpit#')).toEqual([
    expect.objectContaining({ status: 'expiry-failed', reason, expiresAt: expiresAt.toISOString() }),
  ]);
});

test('DeleteStack throwing: recorded expiry-failed with the error, owner told, the run goes on', async () => {
  cfn
    .on(DeleteStackCommand, { StackName: 'biomes-dev-alice' })
    .rejects(Object.assign(new Error('Role is not authorized'), { name: 'ValidationError' }));
  listing(expiring('alice', -DAY_MS), expiring('bob', -DAY_MS));
  const report = await sweep(deps(), NOW);

  expect(entry(report, 'alice')).toMatchObject({
    action: 'expiry-failed',
    error: 'ValidationError: Role is not authorized',
  });
  expect(entry(report, 'bob')).toMatchObject({ action: 'expired' });
  expect(entry(report, 'bob')).not.toHaveProperty('error');
  expect(cfn).toHaveReceivedCommandTimes(DeleteStackCommand, 2);
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toMatchObject({ status: 'expiry-failed' });
  expect(ledger.query('BIOME#alice', 'HISTORY#sandpit#')).toEqual([
    expect.objectContaining({
      status: 'expiry-failed',
      reason: 'DeleteStack failed: ValidationError: Role is not authorized',
    }),
  ]);
  const alice = sns
    .commandCalls(PublishCommand)
    .find((c) => c.args[0].input.MessageAttributes?.biome?.StringValue === 'alice');
  expect(alice?.args[0].input.Subject).toBe('Sandpit biomes-dev-alice: its expiry delete failed');
  expect(alice?.args[0].input.Message).toContain(
    'DeleteStack failed: ValidationError: Role is not authorized',
  );
  expect(logger.error).toHaveBeenCalledWith(
    'DeleteStack failed',
    expect.objectContaining({ biome: 'alice' }),
  );
});

test('SNS throwing on one sandpit is reported and logged; the next sandpit is still swept', async () => {
  sns
    .on(PublishCommand, { MessageAttributes: { biome: { DataType: 'String', StringValue: 'alice' } } })
    .rejects(new Error('throttled'));
  listing(expiring('alice', DAY_MS / 2), expiring('bob', DAY_MS / 2));
  const report = await sweep(deps(), NOW);

  expect(entry(report, 'alice')).toMatchObject({ action: 'notified', error: 'Error: throttled' });
  expect(entry(report, 'bob')).toMatchObject({ action: 'notified' });
  // A notice that did not go is not recorded as sent: the next run tries again.
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toBeUndefined();
  expect(ledger.get('BIOME#bob', 'SANDPIT')).toMatchObject({ status: 'notified' });
  expect(logger.error).toHaveBeenCalledWith(
    'sandpit sweep step failed',
    expect.objectContaining({ biome: 'alice', error: 'Error: throttled' }),
  );
  expect(logger.info).toHaveBeenCalledWith(
    'sandpit sweep',
    expect.objectContaining({ sandpits: 2, failures: 1, report }),
  );
});

test('a keep report that could not be sent is not recorded: the next run sends it', async () => {
  sns.on(PublishCommand).rejectsOnce(new Error('throttled'));
  listing(expiring('alice', -DAY_MS, { tags: { keep: 'true' } }));
  expect(entry(await sweep(deps(), NOW), 'alice')).toMatchObject({
    action: 'kept',
    error: 'Error: throttled',
  });
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toBeUndefined();
  expect(entry(await sweep(deps(), NOW), 'alice')).not.toHaveProperty('error');
  expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toMatchObject({ status: 'kept' });
});

test('a delete started is recorded even when the owner cannot be told', async () => {
  sns.on(PublishCommand).rejects(new Error('topic gone'));
  listing(expiring('alice', -DAY_MS));
  const report = await sweep(deps(), NOW);
  expect(entry(report, 'alice')).toMatchObject({ action: 'expired', error: 'Error: topic gone' });
  expect(ledger.get('BIOME#alice', 'SANDPIT')).toMatchObject({ status: 'expired' });
});

test('busy stacks are reported and left alone; active ones report their expiry; a missing ttl-days tag says so', async () => {
  listing(
    expiring('alice', -DAY_MS, { status: 'DELETE_IN_PROGRESS' }),
    describedStack('bob', { tags: { 'ttl-days': undefined }, updated: before(DAY_MS) }),
  );
  const report = await sweep(deps(), NOW);
  expect(entry(report, 'alice')).toMatchObject({
    action: 'busy',
    detail: 'stack is DELETE_IN_PROGRESS: left for the next run',
  });
  expect(entry(report, 'bob')).toEqual({
    biome: 'bob',
    stackName: 'biomes-dev-bob',
    owner: 'bob@example.com',
    expiresAt: new Date(NOW.getTime() + 6 * DAY_MS).toISOString(),
    action: 'none',
    detail: `active; expires at ${new Date(NOW.getTime() + 6 * DAY_MS).toISOString()} (no ttl-days tag: default 7 days)`,
  });
  expect(cfn).not.toHaveReceivedCommand(DeleteStackCommand);
  expect(sns).not.toHaveReceivedCommand(PublishCommand);
  expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  expect(ddb).not.toHaveReceivedCommand(PutCommand);
});

test('a failed ledger read skips that sandpit only', async () => {
  ddb.on(GetCommand, { Key: { pk: 'BIOME#alice', sk: 'SANDPIT' } }).rejects(new Error('ledger down'));
  listing(expiring('alice', -DAY_MS), expiring('bob', -DAY_MS));
  const report = await sweep(deps(), NOW);
  expect(entry(report, 'alice')).toMatchObject({ action: 'none', error: 'Error: ledger down' });
  expect(entry(report, 'bob')).toMatchObject({ action: 'expired' });
  expect(cfn).toHaveReceivedCommandTimes(DeleteStackCommand, 1);
  expect(cfn).toHaveReceivedCommandWith(DeleteStackCommand, { StackName: 'biomes-dev-bob' });
});

test('the report names the app, environment and time', async () => {
  listing();
  await expect(sweep(deps(), NOW)).resolves.toEqual({
    app: 'biomes',
    env: 'dev',
    sweptAt: NOW.toISOString(),
    sandpits: [],
  });
});
