/** The sweeper's settings and its handler's wiring. */
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type * as HandlerModule from '../../../lambda/sandpit-sweeper/handler';
import { SWEEPER_ENV as ENV } from '../../../lambda/sandpit-sweeper/env';
import { settingsFromEnv } from '../../../lambda/sandpit-sweeper/settings';
import { EnvScope } from '../../../lambda/shared/scope';
import { lambdaContext } from '../shared/lambda-context';
import { DAY_MS, EXECUTION_ROLE, OWNERS_TOPIC, describedStack } from './fakes';

const env = {
  [ENV.appName]: 'biomes',
  [ENV.envName]: 'dev',
  [ENV.ledgerTable]: 'ledger-table',
  [ENV.ownersTopicArn]: OWNERS_TOPIC,
  [ENV.executionRoleArn]: EXECUTION_ROLE,
  [ENV.defaultTtlDays]: '7',
};

describe('settings', () => {
  test('parses every variable', () => {
    const settings = settingsFromEnv(env);
    expect(settings).toEqual({
      scope: new EnvScope('biomes', 'dev'),
      ledgerTable: 'ledger-table',
      ownersTopicArn: OWNERS_TOPIC,
      executionRoleArn: EXECUTION_ROLE,
      defaultTtlDays: 7,
    });
    expect(settings.scope).toBeInstanceOf(EnvScope);
  });

  test.each(Object.values(ENV))('a missing %s fails the cold start, naming it', (variable) => {
    expect(() => settingsFromEnv({ ...env, [variable]: undefined })).toThrow(
      new RegExp(`sandpit-sweeper environment is invalid \\(.*${variable}:`),
    );
  });

  test.each<[string, string, RegExp]>([
    [ENV.envName, 'Dev', /BIOMES_ENV_NAME: "Dev" must match/],
    [ENV.ledgerTable, '', /BIOMES_LEDGER_TABLE: must be set/],
    [ENV.ownersTopicArn, 'owners', /BIOMES_OWNERS_TOPIC_ARN: must be an SNS topic ARN/],
    [
      ENV.executionRoleArn,
      'arn:aws:iam::222222222222:user/x',
      /BIOMES_SANDPIT_EXECUTION_ROLE_ARN: must be an IAM role ARN/,
    ],
    [ENV.defaultTtlDays, '0', /BIOMES_DEFAULT_TTL_DAYS: must be a positive whole number of days/],
    [ENV.defaultTtlDays, 'seven', /BIOMES_DEFAULT_TTL_DAYS: must be a positive whole number of days/],
    [ENV.defaultTtlDays, '1.5', /BIOMES_DEFAULT_TTL_DAYS: must be a positive whole number of days/],
  ])('a bad %s (%j) names the variable and the rule', (variable, value, message) => {
    expect(() => settingsFromEnv({ ...env, [variable]: value })).toThrow(message);
  });
});

describe('handler wiring', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('reads its settings from the environment and sweeps with them', async () => {
    Object.assign(process.env, env, { AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const cfn = mockClient(CloudFormationClient);
    const sns = mockClient(SNSClient);
    const ddb = mockClient(DynamoDBDocumentClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [describedStack('alice', { updated: new Date(Date.now() - 30 * DAY_MS) })],
    });
    cfn.on(DeleteStackCommand).resolves({});
    sns.on(PublishCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    // Loaded after the environment is set: the handler reads it once, at module scope.
    const { handler } = jest.requireActual<typeof HandlerModule>('../../../lambda/sandpit-sweeper/handler');
    const report = await handler({}, lambdaContext('req-sweep'));
    expect(report).toMatchObject({
      app: 'biomes',
      env: 'dev',
      sandpits: [{ biome: 'alice', action: 'expired' }],
    });
    expect(cfn).toHaveReceivedCommandWith(DeleteStackCommand, {
      StackName: 'biomes-dev-alice',
      RoleARN: EXECUTION_ROLE,
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: OWNERS_TOPIC });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: 'ledger-table' });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'ledger-table',
      Item: expect.objectContaining({ sk: expect.stringMatching(/^HISTORY#sandpit#.*#req-sweep$/) }),
    });
    cfn.restore();
    sns.restore();
    ddb.restore();
  });
});
