/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized templates are untyped JSON. */
/**
 * Template tests of the sandpit lifecycle: what the shared stack of an environment that hosts sandpits
 * adds (deployer, recorder, sweeper, owners topic, shared database provider, the ledger's live index),
 * and what a sandpit stack is (its synthesizer, boundary, tags, ledger record, owner subscription).
 * What the IAM allows is proven with the evaluator in test/iam/sandpit-deployer.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../../lib/app';
import { sandpitSelection, testApp, testConfig } from '../../fixtures/config';

const config = testConfig();
const app = testApp();
const all = buildApp(app, config, { kind: 'all' });
const shared = (env: string) => Template.fromStack(all.shared[env]!);
const aliceApp = testApp();
const alice = buildApp(aliceApp, config, sandpitSelection('alice', 'dev', { ttlDays: 14 })).biomes[0]!;
const aliceTemplate = Template.fromStack(alice);
const resources = (t: Template) => t.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const ofType = (t: Template, type: string) => Object.values(resources(t)).filter((r) => r.Type === type);

describe('the shared stack where sandpits live', () => {
  test.each(['dev', 'staging'])(
    '%s has the deployer, execution role and boundary, by their contract names',
    (env) => {
      const t = shared(env);
      for (const name of [`biomes-${env}-sandpit-deployer`, `biomes-${env}-sandpit-execution`]) {
        t.hasResourceProperties('AWS::IAM::Role', { RoleName: name });
      }
      t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        ManagedPolicyName: `biomes-${env}-sandpit-boundary`,
      });
      t.hasResourceProperties('AWS::SNS::Topic', { TopicName: `biomes-${env}-sandpit-owners` });
    },
  );

  test('prod (protected) hosts no sandpits: none of it', () => {
    const t = shared('prod');
    expect(all.shared.prod!.sandpits).toBeUndefined();
    t.resourcePropertiesCountIs('AWS::IAM::Role', { RoleName: Match.stringLikeRegexp('sandpit') }, 0);
    // Prod's two schedules are its inference endpoint's reconcile and the canary sweep (no sweeper).
    t.resourcePropertiesCountIs(
      'AWS::Scheduler::Schedule',
      { Description: Match.stringLikeRegexp('sandpit') },
      0,
    );
    t.resourceCountIs('AWS::Scheduler::Schedule', 2);
  });

  test('the sweeper runs daily at 06:00 UTC, without retries, and deletes with the execution role only', () => {
    const t = shared('dev');
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) }),
    });
    const sweeper = JSON.stringify(
      ofType(t, 'AWS::IAM::Policy').filter((p) =>
        JSON.stringify(p).includes('DeleteSandpitStacksWithTheExecutionRole'),
      ),
    );
    expect(sweeper).toContain('"cloudformation:RoleArn"');
    expect(sweeper).toContain('stack/biomes-dev-*/*');
    expect(sweeper).toContain('stack/biomes-dev-main/*');
  });

  test('the recorder listens to deleted sandpit stacks and to hotswaps by the deployer role', () => {
    const t = shared('dev');
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudformation'],
        'detail-type': ['CloudFormation Stack Status Change'],
        detail: Match.objectLike({ 'status-details': { status: ['DELETE_COMPLETE'] } }),
      },
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.lambda'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: Match.objectLike({ eventName: [{ prefix: 'UpdateFunctionCode' }] }),
      }),
    });
  });

  test('the ledger has the sparse live index (one query of what is live)', () => {
    shared('dev').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'live',
          KeySchema: [
            { AttributeName: 'livePartition', KeyType: 'HASH' },
            { AttributeName: 'liveSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  test('the sandpit parameters are published for sandpit stacks', () => {
    for (const leaf of [
      'sandpits/database-service-token',
      'sandpits/recorder-service-token',
      'sandpits/owners-topic-arn',
    ]) {
      shared('dev').hasResourceProperties('AWS::SSM::Parameter', { Name: `/biomes/dev/shared/${leaf}` });
      shared('prod').resourcePropertiesCountIs(
        'AWS::SSM::Parameter',
        { Name: `/biomes/prod/shared/${leaf}` },
        0,
      );
    }
  });
});

describe('a sandpit stack', () => {
  test('deploys through the sandpit deployer and execution role, with assets under sandpit/', () => {
    const artifact = aliceApp.synth().getStackByName(alice.stackName);
    expect(artifact.assumeRoleArn).toBe('arn:aws:iam::222222222222:role/biomes-dev-sandpit-deployer');
    expect(artifact.cloudFormationExecutionRoleArn).toBe(
      'arn:aws:iam::222222222222:role/biomes-dev-sandpit-execution',
    );
    const assets = JSON.stringify(
      JSON.parse(fs.readFileSync(path.join(aliceApp.outdir, `${alice.stackName}.assets.json`), 'utf8')),
    );
    expect(assets).toContain('"objectKey":"sandpit/');
    expect(assets).toContain('biomes-dev-sandpit-deployer');
    expect(assets).not.toContain('file-publishing-role');
  });

  test('every role carries the boundary', () => {
    const roles = ofType(aliceTemplate, 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(3);
    for (const r of roles) {
      expect(JSON.stringify(r.Properties.PermissionsBoundary)).toContain(
        ':policy/biomes-dev-sandpit-boundary',
      );
    }
  });

  test('it holds no role that can read the master secret: its database comes from the shared provider', () => {
    aliceTemplate.hasResourceProperties('Custom::BiomeDatabase', {
      ServiceToken: Match.objectLike({
        Ref: Match.stringLikeRegexp('database-service-token|SsmParameterValue'),
      }),
    });
    expect(JSON.stringify(ofType(aliceTemplate, 'AWS::IAM::Policy'))).not.toContain('master-secret-arn');
    aliceTemplate.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'biomes-dev-alice-database' });
    aliceTemplate.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'biomes-dev-alice-workflow',
    });
  });

  test('owner and lifetime are stack tags, in days (no date: the template is the same on every synth)', () => {
    const tags = aliceApp.synth().getStackByName(alice.stackName).tags;
    expect(tags).toMatchObject({
      owner: 'alice@example.com',
      'ttl-days': '14',
      keep: 'false',
      biome: 'alice',
    });
    expect(JSON.stringify(aliceTemplate.toJSON())).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });

  test('its CDK deploy is recorded: Custom::SandpitDeploy with owner, lifetime, commit and live versions', () => {
    aliceTemplate.hasResourceProperties('Custom::SandpitDeploy', {
      App: 'biomes',
      Env: 'dev',
      Biome: 'alice',
      Owner: 'alice@example.com',
      TtlDays: '14',
      Keep: 'false',
      Commit: 'unknown',
      Dirty: 'false',
    });
  });

  test('deployed from a working tree with changes: recorded dirty, and every service function tagged <sha>-dirty', () => {
    const sha = 'd'.repeat(40);
    const commitTags = (t: Template) =>
      ofType(t, 'AWS::Lambda::Function')
        .map((f) => (f.Properties.Tags ?? []) as { Key: string; Value: string }[])
        .filter((tags) => tags.some((tag) => tag.Key === 'deployable'))
        .map((tags) => tags.find((tag) => tag.Key === 'commit')?.Value);
    const dirty = Template.fromStack(
      buildApp(testApp(), config, sandpitSelection('alice', 'dev', { ttlDays: 14 }), {
        sandpitSource: { commit: sha, dirty: true },
      }).biomes[0]!,
    );
    dirty.hasResourceProperties('Custom::SandpitDeploy', { Commit: sha, Dirty: 'true' });
    const tags = commitTags(dirty);
    expect(tags.length).toBeGreaterThan(0);
    expect(new Set(tags)).toEqual(new Set([`${sha}-dirty`]));
    // A clean tree (alice above: Dirty false) tags the commit itself, no suffix.
    expect(new Set(commitTags(aliceTemplate))).toEqual(new Set(['unknown']));
  });

  test('its owner is subscribed to the owners topic, filtered on the biome', () => {
    aliceTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'alice@example.com',
      FilterPolicy: { biome: ['alice'] },
    });
  });

  test('main is none of that: bootstrap roles, no boundary, no record, no owner', () => {
    const main = Template.fromStack(all.biomes.find((b) => b.names.env === 'dev')!);
    main.resourceCountIs('Custom::SandpitDeploy', 0);
    main.resourceCountIs('AWS::SNS::Subscription', 0);
    for (const r of ofType(main, 'AWS::IAM::Role')) expect(r.Properties.PermissionsBoundary).toBeUndefined();
    const artifact = app.synth().getStackByName('biomes-dev-main');
    expect(artifact.assumeRoleArn).toContain('cdk-hnb659fds-deploy-role');
  });
});
