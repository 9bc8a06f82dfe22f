import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  FUNCTION_TIMEOUT_SECONDS,
  MIN_STEP_MS,
  RESERVE_MS,
  UPDATE_WAIT_SECONDS,
} from '../../../lambda/deploy-trigger/budget';
import { DEPLOY_TRIGGER_ENV } from '../../../lambda/deploy-trigger/env';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DeployTrigger, type DeployTriggerProps } from '../../../lib/workload/shared/deploy-trigger';
import { EnvScope } from '../../../lambda/shared/scope';
import { environmentOf } from '../../../lib/config';
import { testApp, testConfig, unacknowledgedFindings } from '../../fixtures/config';
import { actionMatches, sdkCalls } from '../../fixtures/sdk-calls';

function build(overrides: Partial<DeployTriggerProps> & { retention?: logs.RetentionDays } = {}) {
  const app = testApp();
  const config = testConfig();
  const stack = new Stack(app, 'TriggerTest', {
    env: { account: environmentOf(config, 'dev').account, region: config.region },
  });
  const key = new kms.Key(stack, 'LandingKey', { enableKeyRotation: true });
  const bucketProps: s3.BucketProps = {
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    removalPolicy: RemovalPolicy.DESTROY,
  };
  const access = new s3.Bucket(stack, 'AccessLogs', {
    ...bucketProps,
    encryption: s3.BucketEncryption.S3_MANAGED,
  });
  Validations.of(access).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Test fixture: the access-log bucket itself.',
  });
  const landingBucket = new s3.Bucket(stack, 'Landing', {
    ...bucketProps,
    encryptionKey: key,
    eventBridgeEnabled: true,
    serverAccessLogsBucket: access,
  });
  const modelBucket = new s3.Bucket(stack, 'Models', {
    ...bucketProps,
    encryption: s3.BucketEncryption.S3_MANAGED,
    serverAccessLogsBucket: access,
  });
  const ledger = new dynamodb.TableV2(stack, 'Ledger', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const trigger = new DeployTrigger(stack, 'Trigger', {
    names: new EnvScope(config.appName, 'dev'),
    logs: {
      retention: overrides.retention ?? logs.RetentionDays.TWO_WEEKS,
      key: new kms.Key(stack, 'LogsKey', { enableKeyRotation: true }),
      shortRetentionReason: 'Test fixture: an unprotected environment.',
    },
    landingBucket,
    ledger,
    modelBucket,
    modelPrefix: 'models/',
    endpointName: 'Biomes-Dev-Endpoint',
    alarmAction: new cw_actions.SnsAction(new sns.Topic(stack, 'Alerts', { enforceSSL: true })),
    ...overrides,
  });
  // The fixture's eventBridgeEnabled adds CDK's bucket-notifications handler; that is the shared stack's concern.
  const notifications = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (notifications) {
    Validations.of(notifications).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'Test fixture: CDK-provided handler that turns on EventBridge notifications.',
    });
  }
  return { stack, trigger, config, template: Template.fromStack(stack), landingBucket, modelBucket };
}

const built = build();
const { template } = built;

test('the rule sends Object Created of the landing bucket only (not SBOMs), with retries and the dead-letter queue', () => {
  template.resourceCountIs('AWS::Events::Rule', 1);
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: {
        bucket: { name: [{ Ref: Match.stringLikeRegexp('^Landing') }] },
        object: { key: [{ 'anything-but': { suffix: '.cdx.json' } }] },
      },
    },
    Targets: [
      Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TriggerFunction'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TriggerDeadLetterQueue'), 'Arn'] },
        },
      }),
    ],
  });
});

test('the function is Node 22 on ARM with its own log group, env names from the shared module', () => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    Handler: 'index.handler',
    Timeout: 600,
    LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^TriggerLogGroup') } },
    Environment: {
      Variables: Match.objectLike({
        [DEPLOY_TRIGGER_ENV.appName]: 'biomes',
        [DEPLOY_TRIGGER_ENV.envName]: 'dev',
        [DEPLOY_TRIGGER_ENV.modelPrefix]: 'models/',
        [DEPLOY_TRIGGER_ENV.maxServiceBytes]: String(250 * 1024 * 1024),
        [DEPLOY_TRIGGER_ENV.leaseSeconds]: '660',
        [DEPLOY_TRIGGER_ENV.landingBucket]: { Ref: Match.stringLikeRegexp('^Landing') },
      }),
    },
  });
  template.hasResource('AWS::Logs::LogGroup', {
    DeletionPolicy: 'Delete',
    Properties: { RetentionInDays: logs.RetentionDays.TWO_WEEKS },
  });
});

test('async invokes retry twice and then go to the dead-letter queue', () => {
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 21600,
    DestinationConfig: {
      OnFailure: {
        Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TriggerDeadLetterQueue'), 'Arn'] },
      },
    },
  });
});

test('the dead-letter queue is encrypted, TLS-only and alarmed as soon as one message is visible', () => {
  template.hasResourceProperties('AWS::SQS::Queue', {
    SqsManagedSseEnabled: true,
    MessageRetentionPeriod: 1209600,
  });
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Namespace: 'AWS/SQS',
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  });
});

/** Every statement of the trigger role's policies. */
function statements(): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
        .PolicyDocument.Statement,
  );
}

function statement(sid: string): Record<string, unknown> {
  const found = statements().find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}

test("every AWS call of the trigger's code is an action its role is granted (the local DynamoDB and mocks run as admin)", () => {
  const calls = sdkCalls('lambda/deploy-trigger/handler.ts');
  expect(calls.map((c) => c.action)).toEqual(
    expect.arrayContaining(['dynamodb:UpdateItem', 'lambda:PublishVersion', 'codedeploy:CreateDeployment']),
  );
  // Every feature on: canaries (CodeDeploy, alarms) and an owners topic (sandpit notices).
  const owners = sns.Topic.fromTopicArn(
    new Stack(testApp(), 'Scratch'),
    'Owners',
    'arn:aws:sns:eu-west-1:222222222222:biomes-dev-sandpit-owners',
  );
  const { template: full } = build({ canary: true, ownersTopic: owners });
  const [roleId, ...others] = Object.keys(full.findResources('AWS::IAM::Role')).filter((id) =>
    /^TriggerRole[0-9A-F]{8}$/.test(id),
  );
  expect(others).toEqual([]);
  const granted = Object.values(full.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Effect: string; Action: string | string[] }>,
    )
    .filter((st) => st.Effect === 'Allow')
    .flatMap((st) => [st.Action].flat());
  expect(granted.length).toBeGreaterThan(10);
  expect(calls.filter((c) => !granted.some((g) => actionMatches(g, c.action)))).toEqual([]);
});

test('Lambda actions are fenced by the deployable/env/app tags, not a name pattern CloudFormation may truncate', () => {
  const s = statement('DeployBiomeFunctions');
  expect(s.Action).toEqual(
    expect.arrayContaining([
      'lambda:UpdateFunctionCode',
      'lambda:PublishVersion',
      'lambda:UpdateAlias',
      'lambda:InvokeFunction',
    ]),
  );
  expect(s.Action).not.toContain('lambda:DeleteFunction');
  expect(JSON.stringify(s.Resource)).toContain(':function:*');
  expect(s.Condition).toEqual({
    StringEquals: {
      'aws:ResourceTag/deployable': 'true',
      'aws:ResourceTag/env': 'dev',
      'aws:ResourceTag/app': 'biomes',
    },
  });
  const tag = statement('TagLiveCommit');
  expect(tag.Action).toBe('lambda:TagResource');
  expect(tag.Condition).toMatchObject({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['commit'] } });
});

test('GetFunction and ListTags are fenced by the tags too, like every write', () => {
  // The function resource type takes aws:ResourceTag for every action (Service Authorization Reference).
  const read = statement('ReadBiomeFunctions');
  expect(read.Action).toEqual(['lambda:GetFunction', 'lambda:ListTags']);
  expect(read.Condition).toEqual({
    StringEquals: {
      'aws:ResourceTag/deployable': 'true',
      'aws:ResourceTag/env': 'dev',
      'aws:ResourceTag/app': 'biomes',
    },
  });
  const writes = [
    'lambda:UpdateFunctionCode',
    'lambda:PublishVersion',
    'lambda:UpdateAlias',
    'lambda:InvokeFunction',
    'lambda:TagResource',
  ];
  for (const s of statements().filter((s) => [s.Action].flat().some((a) => writes.includes(String(a))))) {
    expect(s.Condition).toMatchObject({
      StringEquals: {
        'aws:ResourceTag/deployable': 'true',
        'aws:ResourceTag/env': 'dev',
        'aws:ResourceTag/app': 'biomes',
      },
    });
  }
});

test('the timeout holds every capped wait plus the reserve, and leases outlive it', () => {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r) =>
    (r as { Properties: { Description?: string } }).Properties.Description?.includes('deploys landing'),
  ) as { Properties: { Timeout: number; Environment: { Variables: Record<string, string> } } };
  expect(fn.Properties.Timeout).toBe(FUNCTION_TIMEOUT_SECONDS);
  // Waits for another holder use what the budget leaves; the code update wait must fit beside them.
  expect(fn.Properties.Timeout * 1000).toBeGreaterThan(UPDATE_WAIT_SECONDS * 1000 + RESERVE_MS + MIN_STEP_MS);
  expect(Number(fn.Properties.Environment.Variables[DEPLOY_TRIGGER_ENV.leaseSeconds])).toBeGreaterThan(
    fn.Properties.Timeout,
  );
});

test('S3: read the landing bucket, put (never delete) under the model prefix only', () => {
  // The ranged GET of a model's head (with VersionId) and the copy's source; objects of the landing bucket only.
  const read = statement('ReadLandingObjects');
  expect(read.Action).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
  expect(JSON.stringify(read.Resource)).toMatch(/"Fn::GetAtt":\["Landing[0-9A-F]+","Arn"\]\},"\/\*"/);
  const write = statement('WriteModelPrefix');
  expect(write.Action).toBe('s3:PutObject');
  expect(JSON.stringify(write.Resource)).toContain('/models/*');
  // Reading a model object that refused the copy tells a rollback (same commit) from a clash.
  const readModels = statement('ReadModelPrefix');
  expect(readModels.Action).toBe('s3:GetObject');
  expect(JSON.stringify(readModels.Resource)).toContain('/models/*');
  const all = statements().flatMap((s) => [s.Action].flat());
  expect(all.filter((a) => /Delete/.test(String(a)))).toEqual([]);
  expect(all).not.toContain('s3:*');
});

test('ListBucket makes S3 answer 404, not 403, for a missing object, on both buckets (a HeadObject carries no s3:prefix)', () => {
  const landing = statement('ListLandingBucket');
  expect(landing.Action).toBe('s3:ListBucket');
  expect(landing.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Landing/), 'Arn'] });
  expect(landing.Condition).toBeUndefined();
  const models = statement('ListModelBucket');
  expect(models.Action).toBe('s3:ListBucket');
  expect(models.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Models/), 'Arn'] });
  expect(models.Condition).toBeUndefined();
  expect(statements().filter((s) => [s.Action].flat().includes('s3:ListBucket'))).toHaveLength(2);
});

test('the ledger grant covers the transaction that moves the high-water mark (ConditionCheckItem)', () => {
  const ledger = statements().find((s) => JSON.stringify(s.Resource).includes('Ledger'));
  expect(ledger?.Action).toEqual(
    expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem']),
  );
  expect(ledger?.Action).not.toContain('dynamodb:DeleteItem');
});

test('SSM: read the env root, write model pointers only', () => {
  expect(JSON.stringify(statement('ReadRegistrations').Resource)).toContain(':parameter/biomes/dev/*');
  const put = statement('MoveModelPointers');
  expect(put.Action).toBe('ssm:PutParameter');
  expect(JSON.stringify(put.Resource)).toContain(':parameter/biomes/dev/*/model-pointers/*');
  // Overwrite only, and only parameters the biome stack tagged as this environment's pointers.
  expect(put.Condition).toEqual({
    StringEquals: {
      'ssm:Overwrite': 'true',
      'aws:ResourceTag/model-pointer': 'true',
      'aws:ResourceTag/app': 'biomes',
      'aws:ResourceTag/env': 'dev',
    },
  });
});

test('SageMaker: invoke the env endpoint only (lowercase, as its ARN spells it), for the validation', () => {
  const validate = statement('ValidateModels');
  expect(validate.Action).toBe('sagemaker:InvokeEndpoint');
  expect(JSON.stringify(validate.Resource)).toContain(':endpoint/biomes-dev-endpoint');
});

test('the landing key grants decrypt to the trigger', () => {
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LandingKey'), 'Arn'] },
        }),
      ]),
    },
  });
});

test('no managed policies and no reserved concurrency (see the lease in lambda/deploy-trigger/deploy.ts)', () => {
  template.hasResourceProperties('AWS::IAM::Role', {
    Description: 'biomes dev deploy trigger',
    ManagedPolicyArns: Match.absent(),
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs22.x',
    ReservedConcurrentExecutions: Match.absent(),
  });
});

test('no unacknowledged cdk-nag finding', () => {
  // The trigger's own resources (the buckets and table around it are fixtures).
  expect(unacknowledgedFindings(built.trigger)).toEqual([]);
});

test('bad props fail synth with the rule', () => {
  expect(() => build({ modelPrefix: 'models' })).toThrow(/modelPrefix "models" must end in "\/"/);
  expect(() => build({ maxServiceBytes: 0 })).toThrow(/maxServiceBytes must be a positive whole number/);
});

test('the log group keeps logs for the retention it is given', () => {
  const { template: other } = build({ retention: logs.RetentionDays.ONE_YEAR });
  other.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
});
