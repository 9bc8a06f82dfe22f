/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized templates are untyped JSON; the assertions give them shape. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENV_NAMES } from '../../lambda/shared/grammar';
import type { BiomesConfig } from '../../lib/config';
import { DevopsStack } from '../../lib/devops/devops-stack';
import { ReleaseBucket } from '../../lib/devops/release-bucket';
import { PUBLISH_SCRIPT, publishContractVariables } from '../../lib/devops/publish-project';
import {
  landingBucketName,
  landingKeyAliasArn,
  replicationRoleArn,
  replicationRoleName,
} from '../../lib/naming';
import { rawPlaceholderConfig, testApp, testConfig, unacknowledgedNagFindings } from '../fixtures/config';
import { parseConfig } from '../../lib/config';

type Resource = { Type: string; Properties: Record<string, any> };
type Stage = { Name: string; Actions: Array<Record<string, any>> };

function synth(config: BiomesConfig = testConfig()) {
  const app = testApp();
  const stack = new DevopsStack(app, 'biomes-devops', {
    config,
    env: { account: config.accounts.devops, region: config.region },
  });
  return { stack, template: Template.fromStack(stack) };
}

const config = testConfig();
const { stack, template } = synth(config);
const resources = template.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;

function pipeline(which: 'release' | 'sandpit') {
  const id = logicalId(stack.pipelines[which]);
  return resources[id].Properties;
}
const stagesOf = (which: 'release' | 'sandpit') => pipeline(which).Stages as Stage[];
const envVars = (action: Record<string, any>) =>
  Object.fromEntries(
    (JSON.parse(action.Configuration.EnvironmentVariables) as Array<{ name: string; value: string }>).map(
      (v) => [v.name, v.value],
    ),
  );

describe('pipelines', () => {
  test('exactly two pipelines, both V2, on one CodeConnections source with the configured repository', () => {
    template.resourceCountIs('AWS::CodePipeline::Pipeline', 2);
    for (const which of ['release', 'sandpit'] as const) {
      const p = pipeline(which);
      expect(p.PipelineType).toBe('V2');
      const source = stagesOf(which)[0].Actions[0];
      expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
      expect(source.Configuration).toMatchObject({
        ConnectionArn: config.source.connectionArn,
        FullRepositoryId: config.source.repository,
      });
      expect(source.Namespace).toBe('Source');
    }
  });

  test('release: build -> dev -> approval -> staging -> approval -> prod, triggered by pushes to the release branch', () => {
    expect(stagesOf('release').map((s) => s.Name)).toEqual([
      'Source',
      'Build',
      'PublishDev',
      'ApproveStaging',
      'PublishStaging',
      'ApproveProd',
      'PublishProd',
    ]);
    for (const approval of ['ApproveStaging', 'ApproveProd']) {
      const stage = stagesOf('release').find((s) => s.Name === approval)!;
      expect(stage.Actions.map((a) => a.ActionTypeId)).toEqual([
        { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' },
      ]);
    }
    expect(pipeline('release').Triggers).toEqual([
      {
        ProviderType: 'CodeStarSourceConnection',
        GitConfiguration: {
          SourceActionName: 'Source',
          Push: [{ Branches: { Includes: [config.source.branch] } }],
        },
      },
    ]);
    expect(pipeline('release').ExecutionMode).not.toBe('PARALLEL');
  });

  test('sandpit: build -> dev only, on pushes to sandpit/*, in PARALLEL mode', () => {
    expect(stagesOf('sandpit').map((s) => s.Name)).toEqual(['Source', 'Build', 'PublishDev']);
    expect(pipeline('sandpit').ExecutionMode).toBe('PARALLEL');
    expect(pipeline('sandpit').Triggers).toEqual([
      {
        ProviderType: 'CodeStarSourceConnection',
        GitConfiguration: { SourceActionName: 'Source', Push: [{ Branches: { Includes: ['sandpit/*'] } }] },
      },
    ]);
  });

  test('both pipelines build once with the one shared ARM project, and every publication takes that build output', () => {
    template.resourceCountIs('AWS::CodeBuild::Project', 4); // 1 build + 1 publish per env
    const buildProject = logicalId(stack.node.findChild('Build').node.findChild('Project'));
    for (const which of ['release', 'sandpit'] as const) {
      const actions = stagesOf(which).flatMap((s) => s.Actions);
      const builds = actions.filter(
        (a) => a.ActionTypeId.Category === 'Build' && a.Name === 'TestAndPackage',
      );
      expect(builds).toHaveLength(1);
      expect(builds[0].Configuration.ProjectName).toEqual({ Ref: buildProject });
      expect(envVars(builds[0])).toEqual({
        COMMIT_SHA: '#{Source.CommitId}',
        BRANCH: '#{Source.BranchName}',
        PIPELINE_KIND: which,
      });
      const output = builds[0].OutputArtifacts[0].Name;
      const publishes = actions.filter((a) => a.Name.startsWith('Publish-'));
      expect(publishes.length).toBe(which === 'release' ? 3 : 1);
      for (const p of publishes) expect(p.InputArtifacts).toEqual([{ Name: output }]);
    }
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({
        Type: 'ARM_CONTAINER',
        Image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
      }),
      Source: { Type: 'CODEPIPELINE', BuildSpec: 'lib/devops/buildspec/build.yml' },
    });
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'lib/devops/buildspec/build.yml'))).toBe(true);
  });

  test('each publish action uses its own environment project and passes commit, branch, execution id and biome', () => {
    const check = (
      which: 'release' | 'sandpit',
      stageName: string,
      env: string,
      biomeVars: Record<string, string>,
    ) => {
      const action = stagesOf(which).find((s) => s.Name === stageName)!.Actions[0];
      expect(action.Configuration.ProjectName).toEqual({
        Ref: logicalId(stack.node.findChild(`Publish-${env}`).node.findChild('Project')),
      });
      expect(envVars(action)).toEqual({
        COMMIT_SHA: '#{Source.CommitId}',
        BRANCH: '#{Source.BranchName}',
        PIPELINE_EXECUTION_ID: '#{codepipeline.PipelineExecutionId}',
        ...biomeVars,
      });
    };
    check('release', 'PublishDev', 'dev', { BIOME: 'main' });
    check('release', 'PublishStaging', 'staging', { BIOME: 'main' });
    check('release', 'PublishProd', 'prod', { BIOME: 'main' });
    check('sandpit', 'PublishDev', 'dev', { SANDPIT_BRANCH_PREFIX: 'sandpit/' });
  });

  test('failures (both pipelines) and pending approvals (release) notify the encrypted topic', () => {
    const topic = logicalId(stack.topic);
    template.resourceCountIs('AWS::CodeStarNotifications::NotificationRule', 2);
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: [
        'codepipeline-pipeline-pipeline-execution-failed',
        'codepipeline-pipeline-manual-approval-needed',
      ],
      Resource: Match.anyValue(),
      Targets: [{ TargetType: 'SNS', TargetAddress: { Ref: topic } }],
    });
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: ['codepipeline-pipeline-pipeline-execution-failed'],
      Targets: [{ TargetType: 'SNS', TargetAddress: { Ref: topic } }],
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Placeholder config has no email: no subscription.
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('an email in the config subscribes it to the topic', () => {
    const raw = rawPlaceholderConfig();
    raw.notifications = { email: 'ml-platform@example.com' };
    const withEmail = synth(parseConfig(raw)).template;
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ml-platform@example.com',
    });
  });
});

describe('release buckets and replication', () => {
  test.each(ENV_NAMES)(
    '%s: replicates to its landing bucket in its account, owner override, replica key',
    (env) => {
      const id = logicalId(stack.releaseBuckets[env].bucket);
      const props = resources[id].Properties;
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(props.ReplicationConfiguration.Role).toEqual({
        'Fn::GetAtt': [logicalId(stack.replicationRole), 'Arn'],
      });
      const rules = props.ReplicationConfiguration.Rules;
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({
        Status: 'Enabled',
        Destination: {
          Account: config.accounts[env],
          Bucket: `arn:aws:s3:::${landingBucketName(config, env)}`,
          AccessControlTranslation: { Owner: 'Destination' },
          EncryptionConfiguration: { ReplicaKmsKeyID: landingKeyAliasArn(config, env) },
        },
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
        DeleteMarkerReplication: { Status: 'Disabled' },
      });
      const rtc = config.environments[env].replicationTimeControl;
      if (rtc) {
        expect(rules[0].Destination.ReplicationTime).toEqual({ Status: 'Enabled', Time: { Minutes: 15 } });
        expect(rules[0].Destination.Metrics).toEqual({ Status: 'Enabled', EventThreshold: { Minutes: 15 } });
      } else {
        expect(rules[0].Destination.ReplicationTime).toBeUndefined();
      }
    },
  );

  test('the placeholder config exercises both RTC settings', () => {
    expect(config.environments.prod.replicationTimeControl).toBe(true);
    expect(config.environments.dev.replicationTimeControl).toBe(false);
  });

  test('each release bucket has its own rotating customer key, and S3 uses it by default', () => {
    for (const env of ENV_NAMES) {
      const props = resources[logicalId(stack.releaseBuckets[env].bucket)].Properties;
      expect(
        props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: { 'Fn::GetAtt': [logicalId(stack.releaseBuckets[env].key), 'Arn'] },
      });
      expect(resources[logicalId(stack.releaseBuckets[env].key)].Properties.EnableKeyRotation).toBe(true);
    }
  });

  test('the replication role has the name the landing bucket policies admit, and only S3 of this account assumes it', () => {
    expect(stack.resolve(stack.replicationRole.roleArn)).toBeDefined();
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: replicationRoleName(config),
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': config.accounts.devops } },
          },
        ],
      },
    });
    expect(replicationRoleArn(config)).toBe(
      `arn:aws:iam::${config.accounts.devops}:role/${replicationRoleName(config)}`,
    );
  });

  test('the replication role reads only the release buckets and writes only the configured landing buckets', () => {
    const roleId = logicalId(stack.replicationRole);
    const [, policy] = ofType('AWS::IAM::Policy').find(([, p]) =>
      (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
    )!;
    const statements = policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>;
    const releaseIds = ENV_NAMES.map((env) => logicalId(stack.releaseBuckets[env].bucket));
    const landingObjects = ENV_NAMES.map((env) => `arn:aws:s3:::${landingBucketName(config, env)}/*`);
    for (const s of statements) {
      const actions: string[] = [s.Action].flat();
      const resourcesOf = [s.Resource].flat();
      const writes = actions.filter(
        (a) => a.startsWith('s3:Replicate') || a === 's3:ObjectOwnerOverrideToBucketOwner',
      );
      if (writes.length > 0) {
        for (const r of resourcesOf) expect(landingObjects).toContain(r);
      }
      const reads = actions.filter((a) => a.startsWith('s3:Get') || a === 's3:ListBucket');
      if (reads.length > 0) {
        for (const r of resourcesOf) {
          expect(releaseIds.some((id) => JSON.stringify(r).includes(`"${id}"`))).toBe(true);
        }
      }
      expect(actions.some((a) => a === 's3:*' || a === 's3:PutObject' || a === 'kms:*')).toBe(false);
    }
    // Replica keys: only the key behind each landing alias, through S3.
    for (const env of ENV_NAMES) {
      expect(statements).toContainEqual({
        Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: `arn:aws:kms:${config.region}:${config.accounts[env]}:key/*`,
        Condition: {
          StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` },
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${config.appName}-${env}-landing` },
        },
      });
    }
  });

  test('a replica key alias of the wrong account or shape fails synth with the rule', () => {
    const make = (replicaKeyAliasArn: string) => {
      const s = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
      return () =>
        new ReleaseBucket(s, 'R', {
          envName: 'dev',
          destinationBucketName: 'landing',
          destinationAccount: '222222222222',
          replicaKeyAliasArn,
          replicationRole: new iam.Role(s, 'Role', {
            assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
          }),
          serverAccessLogsBucket: new s3.Bucket(s, 'Logs'),
        });
    };
    expect(make('arn:aws:kms:eu-west-1:222222222222:key/1234')).toThrow(
      /must be a KMS alias ARN .*landingKeyAliasArn/,
    );
    expect(make('arn:aws:kms:eu-west-1:333333333333:alias/x')).toThrow(
      /is in account 333333333333, but the landing bucket is in 222222222222/,
    );
  });
});

describe('security by default', () => {
  test('every bucket is encrypted, TLS-only and blocks all public access', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets).toHaveLength(5); // 3 release + artifacts + access logs
    for (const [id, b] of buckets) {
      expect(
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
      ).toMatch(/^(aws:kms|AES256)$/);
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const policy = ofType('AWS::S3::BucketPolicy').find(
        ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id }),
      );
      expect(policy).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  test('only the access-log bucket uses SSE-S3 (log delivery cannot write SSE-KMS); the others use customer keys', () => {
    const algorithms = ofType('AWS::S3::Bucket').map(
      ([, b]) =>
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
    );
    expect(algorithms.filter((a) => a === 'AES256')).toHaveLength(1);
    for (const [, key] of ofType('AWS::KMS::Key')) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  test('pipeline artifacts expire after the dev artifact retention', () => {
    const props = resources[logicalId(stack.artifactBucket)].Properties;
    expect(props.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        ExpirationInDays: config.environments.dev.artifactRetentionDays,
        Status: 'Enabled',
      }),
    );
    expect(
      props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm,
    ).toBe('aws:kms');
  });

  test('no IAM statement allows "*" actions on "*" resources', () => {
    const documents = [
      ...ofType('AWS::IAM::Policy').map(([, p]) => p.Properties.PolicyDocument),
      ...ofType('AWS::IAM::Role').flatMap(([, r]) =>
        (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument),
      ),
    ];
    expect(documents.length).toBeGreaterThan(5);
    for (const doc of documents) {
      for (const s of doc.Statement as Array<Record<string, unknown>>) {
        const actions = [s.Action].flat();
        const res = [s.Resource].flat();
        expect(actions.includes('*') && res.includes('*')).toBe(false);
        expect(s.NotAction).toBeUndefined();
      }
    }
  });

  test('the build role cannot touch a release bucket or key; each publish role writes its own environment only', () => {
    const roleDocs = (projectPath: string) => {
      const project = stack.node.findChild(projectPath).node.findChild('Project') as any;
      const roleId = logicalId(project.role);
      return JSON.stringify(
        ofType('AWS::IAM::Policy')
          .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
          .map(([, p]) => p.Properties.PolicyDocument),
      );
    };
    const bucketId = (env: (typeof ENV_NAMES)[number]) => logicalId(stack.releaseBuckets[env].bucket);
    const keyId = (env: (typeof ENV_NAMES)[number]) => logicalId(stack.releaseBuckets[env].key);
    const build = roleDocs('Build');
    for (const env of ENV_NAMES) {
      expect(build).not.toContain(bucketId(env));
      expect(build).not.toContain(keyId(env));
    }
    for (const env of ENV_NAMES) {
      const publish = roleDocs(`Publish-${env}`);
      expect(publish).toContain(bucketId(env));
      expect(publish).toContain(keyId(env));
      for (const other of ENV_NAMES.filter((e) => e !== env)) {
        expect(publish).not.toContain(bucketId(other));
        expect(publish).not.toContain(keyId(other));
      }
    }
  });

  test('every CodeBuild project encrypts with the artifacts key and logs to its own retained-by-config log group', () => {
    for (const [, p] of ofType('AWS::CodeBuild::Project')) {
      expect(p.Properties.EncryptionKey).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(p.Properties.LogsConfig.CloudWatchLogs.Status).toBe('ENABLED');
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 4);
  });

  test('no cdk-nag finding is left unacknowledged', () => {
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });
});

describe('the publish buildspec', () => {
  const publishProject = (env: string) =>
    resources[logicalId(stack.node.findChild(`Publish-${env}`).node.findChild('Project'))].Properties;

  test('is inline (never read from the branch) and passes the grammar and metadata contract', () => {
    const p = publishProject('prod');
    expect(p.Source.Type).toBe('CODEPIPELINE');
    const spec = JSON.parse(p.Source.BuildSpec);
    expect(spec.phases.build.commands.join('\n')).toContain(fs.readFileSync(PUBLISH_SCRIPT, 'utf8'));
    const vars = Object.fromEntries(
      (p.Environment.EnvironmentVariables as Array<{ Name: string; Value: unknown }>).map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(vars).toMatchObject(publishContractVariables());
    expect(vars.RELEASE_BUCKET).toEqual({ Ref: logicalId(stack.releaseBuckets.prod.bucket) });
    expect(vars.RELEASE_KEY_ARN).toEqual({ 'Fn::GetAtt': [logicalId(stack.releaseBuckets.prod.key), 'Arn'] });
  });

  test('its commands run the script unchanged (heredoc round trip) against a build output', () => {
    const spec = JSON.parse(publishProject('dev').Source.BuildSpec);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-buildspec-'));
    try {
      const bin = path.join(work, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'aws'), `#!/usr/bin/env bash\necho "$4" >> "${work}/calls"\n`, {
        mode: 0o755,
      });
      const src = path.join(work, 'src');
      fs.mkdirSync(src);
      const sha = 'c'.repeat(40);
      fs.writeFileSync(path.join(src, `predict-${sha}.zip`), 'zip');
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', spec.phases.build.commands.join('\n')], {
        encoding: 'utf8',
        env: {
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          CODEBUILD_SRC_DIR: src,
          ...publishContractVariables(),
          RELEASE_BUCKET: 'release-dev',
          RELEASE_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/k',
          COMMIT_SHA: sha,
          BRANCH: 'sandpit/alice',
          PIPELINE_EXECUTION_ID: 'e-1',
          SANDPIT_BRANCH_PREFIX: 'sandpit/',
        },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(work, 'calls'), 'utf8')).toBe(
        `s3://release-dev/alice/predict-${sha}.zip\n`,
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
