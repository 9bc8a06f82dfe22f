import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  EnvScope,
  SANDPIT_PARAMETERS,
  SHARED_PARAMETER_LEAVES,
  type SharedParameter,
} from '../../../lambda/shared/scope';
import { buildApp } from '../../../lib/app';
import { environmentOf, parseConfig } from '../../../lib/config';
import { landingBucketName, replicationRoleArn } from '../../../lib/naming';
import { MODEL_PREFIX } from '../../../lib/workload/shared/inference';
import { PINNED_LOGICAL_IDS } from '../../../lib/workload/shared/logical-ids';
import { SharedStack } from '../../../lib/workload/shared/shared-stack';
import { rawPlaceholderConfig, testApp, testConfig, unacknowledgedFindings } from '../../fixtures/config';

const config = testConfig();

/** The placeholder config with one raw change, validated. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the raw config is untyped JSON
function configWith(change: (raw: any) => void) {
  const raw = rawPlaceholderConfig();
  change(raw);
  return parseConfig(raw);
}

function sharedStack(envName: string): SharedStack {
  return new SharedStack(testApp(), `biomes-${envName}-shared`, {
    config,
    envName,
    env: { account: environmentOf(config, envName).account, region: config.region },
  });
}

const stacks = { dev: sharedStack('dev'), prod: sharedStack('prod') };
const templates = { dev: Template.fromStack(stacks.dev), prod: Template.fromStack(stacks.prod) };

describe.each(['dev', 'prod'] as const)('shared stack in %s: same in every environment', (env) => {
  const template = templates[env];

  test('no unacknowledged cdk-nag finding', () => {
    expect(unacknowledgedFindings(stacks[env])).toEqual([]);
  });

  test('pins the logical ids of the stateful resources', () => {
    const resources = template.toJSON().Resources as Record<string, { Type: string }>;
    expect(resources[PINNED_LOGICAL_IDS.databaseCluster]?.Type).toBe('AWS::RDS::DBCluster');
    expect(resources[PINNED_LOGICAL_IDS.ledgerTable]?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(resources[PINNED_LOGICAL_IDS.landingBucket]?.Type).toBe('AWS::S3::Bucket');
    expect(resources[PINNED_LOGICAL_IDS.landingKey]?.Type).toBe('AWS::KMS::Key');
    expect(resources[PINNED_LOGICAL_IDS.databaseKey]?.Type).toBe('AWS::KMS::Key');
    expect(resources[PINNED_LOGICAL_IDS.modelBucket]?.Type).toBe('AWS::S3::Bucket');
    expect(resources[PINNED_LOGICAL_IDS.modelKey]?.Type).toBe('AWS::KMS::Key');
    expect(resources[PINNED_LOGICAL_IDS.logsKey]?.Type).toBe('AWS::KMS::Key');
    // The literal ids, so that renaming the constants is caught too.
    expect(Object.values(PINNED_LOGICAL_IDS).sort()).toEqual(
      [
        'DatabaseCluster',
        'DatabaseKey',
        'LandingBucket',
        'LandingKey',
        'LedgerTable',
        'LogsKey',
        'ModelBucket',
        'ModelKey',
      ].sort(),
    );
  });

  test('synthesizes without an AWS account: no context lookup, no hardcoded zone', () => {
    const assembly = (stacks[env].node.root as App).synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    template.allResourcesProperties('AWS::EC2::Subnet', {
      AvailabilityZone: { 'Fn::Select': [Match.anyValue(), { 'Fn::GetAZs': '' }] },
    });
    template.resourceCountIs('AWS::EC2::Subnet', 2);
  });

  describe('network', () => {
    test('no NAT gateway, no internet gateway, no public subnet', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 0);
      template.resourceCountIs('AWS::EC2::EIP', 0);
      template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
      template.resourceCountIs('AWS::EC2::Route', 0);
    });

    test('flow logs are on', () => {
      template.resourceCountIs('AWS::EC2::FlowLog', 1);
      template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'REJECT' });
    });

    test('the cluster security group admits nothing', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('no ingress'),
        SecurityGroupIngress: Match.absent(),
      });
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    });
  });

  describe('database', () => {
    test('Aurora PostgreSQL Serverless v2 with the Data API, encrypted, IAM auth, generated secret', () => {
      template.hasResource('AWS::RDS::DBCluster', {
        Properties: Match.objectLike({
          Engine: 'aurora-postgresql',
          EngineVersion: Match.stringLikeRegexp('^16\\.'),
          EnableHttpEndpoint: true,
          StorageEncrypted: true,
          KmsKeyId: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.databaseKey, 'Arn'] },
          EnableIAMDatabaseAuthentication: true,
          MasterUsername: 'biomes_admin',
          MasterUserPassword: Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])],
          }),
          BackupRetentionPeriod: environmentOf(config, env).database.backupRetentionDays,
        }),
      });
      template.hasResourceProperties('AWS::RDS::DBInstance', {
        DBInstanceClass: 'db.serverless',
        PubliclyAccessible: false,
      });
      template.resourceCountIs('AWS::RDS::DBInstance', 1);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"biomes_admin"}' }),
      });
      template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Parameters: { 'rds.force_ssl': '1' },
      });
    });
  });

  describe('landing bucket', () => {
    test('is named for the DevOps replication rule, KMS-encrypted with the aliased key, versioned, private', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: landingBucketName(config, environmentOf(config, env)),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.landingKey, 'Arn'] },
              },
            }),
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'landing/' }),
      });
      template.hasResourceProperties('AWS::KMS::Alias', {
        AliasName: new EnvScope(config.appName, env).landingKeyAlias,
        TargetKeyId: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.landingKey, 'Arn'] },
      });
    });

    test('keeps recent artifacts and expires old versions', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: landingBucketName(config, environmentOf(config, env)),
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Status: 'Enabled',
              ExpirationInDays: environmentOf(config, env).artifactRetentionDays,
              NoncurrentVersionExpiration: { NoncurrentDays: 7 },
            }),
          ]),
        },
      });
    });

    test('the bucket policy admits only the DevOps replication role, with the replication actions', () => {
      const policies = template.findResources('AWS::S3::BucketPolicy', {
        Properties: { Bucket: { Ref: PINNED_LOGICAL_IDS.landingBucket } },
      });
      expect(Object.keys(policies)).toHaveLength(1);
      const statements = Object.values(policies)[0]!.Properties.PolicyDocument.Statement as Array<{
        Effect: string;
        Principal: { AWS?: unknown };
        Action: string | string[];
        Resource: unknown;
        Condition?: unknown;
      }>;
      const allows = statements.filter((s) => s.Effect === 'Allow');
      // Principals outside this stack are literal ARNs; the only one is the replication role (in dev the
      // auto-delete custom resource, a role of this stack, is admitted too, by reference).
      const foreign = allows.filter((s) =>
        JSON.stringify(s.Principal).includes(`:iam::${config.devopsAccount}:root`),
      );
      const inStack = allows.filter((s) => !foreign.includes(s));
      for (const s of inStack) expect(JSON.stringify(s.Principal)).toContain('AutoDeleteObjects');
      expect(foreign.length).toBeGreaterThan(0);
      // The DevOps account, narrowed to exactly the replication role (a condition, so the role may not exist yet).
      for (const s of foreign) {
        expect(s.Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': replicationRoleArn(config) } });
      }
      const actions = foreign.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
      expect(actions).toEqual(
        [
          's3:GetBucketVersioning',
          's3:ObjectOwnerOverrideToBucketOwner',
          's3:ReplicateObject',
          's3:ReplicateTags',
        ].sort(),
      );
      const versioning = foreign.find((s) => JSON.stringify(s.Action).includes('GetBucketVersioning'))!;
      expect(versioning.Resource).toEqual({ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.landingBucket, 'Arn'] });
      // TLS only.
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    });

    test('the key lets the replication role encrypt replicas, only through S3', () => {
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'DevopsReplicationEncryptsReplicas',
              Effect: 'Allow',
              Principal: { AWS: Match.anyValue() },
              Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
              Resource: '*',
              Condition: {
                ArnEquals: { 'aws:PrincipalArn': replicationRoleArn(config) },
                StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` },
              },
            },
          ]),
        },
      });
    });
  });

  test('ledger: DynamoDB on demand, PITR, encrypted, keyed pk/sk', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      SSESpecification: Match.objectLike({ SSEEnabled: true }),
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });

  describe('inference', () => {
    test('a multi-model endpoint over s3://<model bucket>/models/ with our image (built FROM the regional scikit-learn image)', () => {
      template.hasResourceProperties('AWS::SageMaker::Model', {
        PrimaryContainer: {
          Mode: 'MultiModel',
          // The image asset in the environment's bootstrap repository (test/workload/shared/inference.test.ts).
          Image: {
            'Fn::Sub': Match.stringLikeRegexp(
              `^${environmentOf(config, env).account}\\.dkr\\.ecr\\.${config.region}\\..*container-assets.*:[0-9a-f]{64}$`,
            ),
          },
          ModelDataUrl: {
            'Fn::Join': ['', ['s3://', { Ref: PINNED_LOGICAL_IDS.modelBucket }, `/${MODEL_PREFIX}`]],
          },
        },
        EnableNetworkIsolation: true,
      });
      // The endpoint is owned by Custom::InferenceEndpoint (it sleeps outside the schedule), on this
      // configuration (test/workload/shared/inference-endpoint.test.ts).
      template.resourceCountIs('AWS::SageMaker::Endpoint', 0);
      const [configId] = Object.keys(template.findResources('AWS::SageMaker::EndpointConfig'));
      template.hasResourceProperties('Custom::InferenceEndpoint', {
        EndpointConfigName: { 'Fn::GetAtt': [configId, 'EndpointConfigName'] },
      });
    });

    test('the endpoint config takes instance type and count from config and encrypts the volume', () => {
      template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
        ProductionVariants: [
          Match.objectLike({
            InstanceType: environmentOf(config, env).inference.instanceType,
            InitialInstanceCount: environmentOf(config, env).inference.initialInstanceCount,
          }),
        ],
        KmsKeyId: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.modelKey, 'Arn'] },
      });
    });

    test('the model bucket is KMS-encrypted, versioned, TLS-only and private', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.modelKey, 'Arn'] },
              },
            }),
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true }),
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: PINNED_LOGICAL_IDS.modelBucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    test('the execution role reads only the model location', () => {
      const roles = template.findResources('AWS::IAM::Role', {
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
          },
        },
      });
      expect(Object.keys(roles)).toHaveLength(1);
      const roleId = Object.keys(roles)[0];
      const policies = template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: roleId }] },
      });
      const statements = Object.values(policies).flatMap(
        (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>,
      );
      const s3Statements = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));
      expect(s3Statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: 's3:GetObject',
            Resource: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.modelBucket, 'Arn'] }, `/${MODEL_PREFIX}*`],
              ],
            },
          }),
          expect.objectContaining({
            Action: 's3:ListBucket',
            Condition: { StringLike: { 's3:prefix': [MODEL_PREFIX, `${MODEL_PREFIX}*`] } },
          }),
        ]),
      );
      expect(s3Statements).toHaveLength(2);
      // No write, no other bucket.
      expect(JSON.stringify(statements)).not.toMatch(/s3:(Put|Delete)|s3:\*/);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetAtt': [PINNED_LOGICAL_IDS.modelKey, 'Arn'] },
        }),
      );
    });
  });

  test('publishes every shared parameter under /<app>/<env>/shared/, and no CloudFormation export', () => {
    // The sandpit ones only where the environment hosts sandpits (not prod).
    const keys = (Object.keys(SHARED_PARAMETER_LEAVES) as SharedParameter[]).filter(
      (k) => env !== 'prod' || !(SANDPIT_PARAMETERS as readonly string[]).includes(k),
    );
    template.resourceCountIs('AWS::SSM::Parameter', keys.length);
    for (const key of keys) {
      template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: new EnvScope(config.appName, env).sharedParameter(key),
        Type: 'String',
      });
    }
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/biomes/${env}/shared/landing-bucket-name`,
      Value: { Ref: PINNED_LOGICAL_IDS.landingBucket },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/biomes/${env}/shared/database/cluster-identifier`,
      Value: { Ref: PINNED_LOGICAL_IDS.databaseCluster },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/biomes/${env}/shared/inference/model-prefix`,
      Value: MODEL_PREFIX,
    });
    for (const output of Object.values(template.toJSON().Outputs ?? {})) {
      expect(output).not.toHaveProperty('Export');
    }
  });

  test('the endpoint has a lowercase derived name, so the InvokeEndpoint grants match its ARN', () => {
    const name = `biomes-${env}-models`;
    template.hasResourceProperties('Custom::InferenceEndpoint', { EndpointName: name });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`:endpoint/${name}`);
  });

  test('the dead-letter alarm notifies an encrypted, TLS-only topic', () => {
    // The alerts topic (the sandpit owners topic, where sandpits live, is tested in sandpits.test.ts).
    const topics = template.findResources('AWS::SNS::Topic', { Properties: { TopicName: Match.absent() } });
    expect(Object.keys(topics)).toHaveLength(1);
    const [topicId, topic] = Object.entries(topics)[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: Match.arrayWith([{ Ref: topicId }]),
    });
    // CloudWatch must be able to use the topic's key, scoped to this account (not kms:ViaService).
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': environmentOf(config, env).account } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test("an alarm watches the deploy trigger's dead-letter queue", () => {
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.anyValue(), 'QueueName'] } }],
    });
  });

  test('bundles the deploy trigger', () => {
    expect(SharedStack.FUNCTIONS).toContain('deploy-trigger');
  });
});

describe('dev and prod differ where docs/design.md says', () => {
  test('capacity: dev scales to 0 ACU and auto-pauses, prod keeps its configured minimum', () => {
    const dev = environmentOf(config, 'dev').database;
    const prod = environmentOf(config, 'prod').database;
    templates.dev.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: {
        MinCapacity: 0,
        MaxCapacity: dev.maxCapacity,
        SecondsUntilAutoPause: dev.autoPauseMinutes * 60,
      },
    });
    templates.prod.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: {
        MinCapacity: prod.minCapacity,
        MaxCapacity: prod.maxCapacity,
        SecondsUntilAutoPause: Match.absent(),
      },
    });
    expect(prod.minCapacity).toBeGreaterThan(0);
  });

  test('deletion protection and snapshot on delete in prod only', () => {
    templates.prod.hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: true }),
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
    templates.dev.hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({ DeletionProtection: false }),
      DeletionPolicy: 'Delete',
    });
    templates.prod.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
    });
    templates.dev.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
  });

  test('prod retains its data (tables, buckets, keys, master secret); dev deletes and empties them', () => {
    const policyOf = (env: 'dev' | 'prod', id: string) =>
      (templates[env].toJSON().Resources[id] as { DeletionPolicy?: string }).DeletionPolicy;
    for (const id of [
      PINNED_LOGICAL_IDS.ledgerTable,
      PINNED_LOGICAL_IDS.landingBucket,
      PINNED_LOGICAL_IDS.landingKey,
      PINNED_LOGICAL_IDS.modelBucket,
      PINNED_LOGICAL_IDS.databaseKey,
    ]) {
      expect([id, policyOf('prod', id)]).toEqual([id, 'RetainExceptOnCreate']);
      expect([id, policyOf('dev', id)]).toEqual([id, 'Delete']);
    }
    templates.prod.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'RetainExceptOnCreate' });
    templates.dev.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    templates.prod.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    templates.dev.resourceCountIs('Custom::S3AutoDeleteObjects', 3);
  });

  test('retention follows each environment: backups and landing artifacts', () => {
    for (const env of ['dev', 'prod'] as const) {
      templates[env].hasResourceProperties('AWS::RDS::DBCluster', {
        BackupRetentionPeriod: environmentOf(config, env).database.backupRetentionDays,
      });
      templates[env].hasResourceProperties('AWS::S3::Bucket', {
        BucketName: landingBucketName(config, environmentOf(config, env)),
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ ExpirationInDays: environmentOf(config, env).artifactRetentionDays }),
          ]),
        },
      });
    }
    expect(environmentOf(config, 'dev').database.backupRetentionDays).not.toBe(
      environmentOf(config, 'prod').database.backupRetentionDays,
    );
  });

  test('endpoint size: prod runs the instances its config asks for', () => {
    templates.prod.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.m5.xlarge', InitialInstanceCount: 2 })],
    });
    templates.dev.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1 })],
    });
  });

  test('termination protection: the app composes prod shared with it, dev without', () => {
    const built = buildApp(testApp(), config, { kind: 'all' });
    expect(built.shared.prod?.terminationProtection).toBe(true);
    expect(built.shared.dev?.terminationProtection).toBe(false);
    expect(built.shared.staging?.terminationProtection).toBe(false);
  });
});

describe('configuration the stack honours', () => {
  test('a configured image replaces the default and the role may pull it from its ECR repository', () => {
    const image = `${environmentOf(config, 'dev').account}.dkr.ecr.${config.region}.amazonaws.com/biomes-models:1.0`;
    const custom = configWith((raw) => (raw.environments.dev.inference.image = image));
    const stack = new SharedStack(testApp(), 'custom', {
      config: custom,
      envName: 'dev',
      env: { account: environmentOf(config, 'dev').account, region: config.region },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Image: image }),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'PullConfiguredImage',
            Resource: `arn:aws:ecr:${config.region}:${environmentOf(config, 'dev').account}:repository/biomes-models`,
          }),
        ]),
      },
    });
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test('an instance type with local NVMe storage gets no volume KMS key (SageMaker would reject it)', () => {
    const custom = configWith((raw) => (raw.environments.dev.inference.instanceType = 'ml.m5d.large'));
    const stack = new SharedStack(testApp(), 'nvme', {
      config: custom,
      envName: 'dev',
      env: { account: environmentOf(config, 'dev').account, region: config.region },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: Match.absent(),
      ProductionVariants: [Match.objectLike({ InstanceType: 'ml.m5d.large' })],
    });
  });

  test('a region without a known default image fails synth, naming the key to set', () => {
    const custom = configWith((raw) => (raw.region = 'mx-central-1'));
    expect(
      () =>
        new SharedStack(testApp(), 'mx', {
          config: custom,
          envName: 'dev',
          env: { account: environmentOf(config, 'dev').account, region: 'mx-central-1' },
        }),
    ).toThrow(/set biomes\.environments\.dev\.inference\.image/);
  });
});
