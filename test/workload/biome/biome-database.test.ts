import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { migrationsFingerprint } from '../../../lambda/biome-database/migrations';
import { BiomeDatabase, DATA_API_ACTIONS } from '../../../lib/workload/biome/biome-database';
import { placeOf as place, testApp, unacknowledgedFindings } from '../../fixtures/config';

const CLUSTER = 'arn:aws:rds:eu-west-1:222222222222:cluster:biomes-dev-db';
const MASTER = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:biomes-dev-master-AbCdEf';

function build(biome = 'alice-b', envName = 'dev', extra: { grantee?: boolean } = {}) {
  const stack = new Stack(testApp(), 'Biome', { env: { account: '222222222222', region: 'eu-west-1' } });
  const db = new BiomeDatabase(stack, 'Database', {
    ...place(stack, biome, envName),
    clusterArn: CLUSTER,
    masterSecretArn: MASTER,
  });
  if (extra.grantee) {
    const role = new iam.Role(stack, 'Service', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    db.grantDataAccess(role);
  }
  return { stack, db, template: Template.fromStack(stack) };
}

describe('BiomeDatabase', () => {
  const { stack, db, template } = build('alice-b', 'dev', { grantee: true });

  test('exposes the names the services need', () => {
    expect(db.databaseName).toBe('biome_alice_b');
    expect(db.roleName).toBe('biome_alice_b');
    expect(db.clusterArn).toBe(CLUSTER);
    expect(stack.resolve(db.secret.secretArn)).toEqual({ Ref: 'DatabaseSecret3B817195' });
  });

  test('a generated secret in the Data API format, destroyed with the stack', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Delete',
      Properties: {
        GenerateSecretString: {
          SecretStringTemplate: '{"username":"biome_alice_b"}',
          GenerateStringKey: 'password',
          ExcludePunctuation: true,
          PasswordLength: 32,
        },
      },
    });
  });

  test('the custom resource carries cluster, secrets, biome and the migrations fingerprint', () => {
    template.resourceCountIs('Custom::BiomeDatabase', 1);
    template.hasResource('Custom::BiomeDatabase', {
      DeletionPolicy: 'Delete',
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseProviderframeworkonEvent'), 'Arn'] },
        ClusterArn: CLUSTER,
        MasterSecretArn: MASTER,
        BiomeSecretArn: { Ref: 'DatabaseSecret3B817195' },
        Env: 'dev',
        Biome: 'alice-b',
        Migrations: migrationsFingerprint(),
      },
    });
  });

  test('stateful logical ids are pinned (a change would replace the database)', () => {
    expect(Object.keys(template.findResources('Custom::BiomeDatabase'))).toEqual(['DatabaseB269D8BB']);
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toEqual([
      'DatabaseSecret3B817195',
    ]);
  });

  test('the onEvent function: bundled handler, arm64, its own log group with retention and destroy', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 300,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^DatabaseProviderOnEventLogs') } },
    });
    // Function and Provider framework each log to a log group of ours, kept 14 days in dev.
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.allResources('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Delete',
      Properties: { RetentionInDays: 14 },
    });
  });

  test('the onEvent role: Data API on the cluster, the two secrets, nothing else; no managed policy', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseProviderOnEventRole') }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
          .Statement,
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: [...DATA_API_ACTIONS], Resource: CLUSTER }),
        expect.objectContaining({
          Action: 'secretsmanager:GetSecretValue',
          Resource: [MASTER, { Ref: 'DatabaseSecret3B817195' }],
        }),
      ]),
    );
    const actions = statements.flatMap((s) => [(s as { Action: string | string[] }).Action].flat());
    // X-Ray trace submission is the only other grant (the function traces actively).
    expect(
      actions.filter(
        (a) =>
          !/^(rds-data:|logs:|secretsmanager:GetSecretValue$|xray:Put(TraceSegments|TelemetryRecords)$)/.test(
            a,
          ),
      ),
    ).toEqual([]);
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  test('grantDataAccess: Data API on the cluster and GetSecretValue on the biome secret only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Service') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: [...DATA_API_ACTIONS], Resource: CLUSTER },
          {
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: { Ref: 'DatabaseSecret3B817195' },
          },
        ],
      },
    });
  });

  test('no unacknowledged cdk-nag finding', () => {
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });
});

test('prod main: the custom resource has no Delete effect (retained); a sandpit is destroyed', () => {
  build('main', 'prod').template.hasResource('Custom::BiomeDatabase', {
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  build('main', 'staging').template.hasResource('Custom::BiomeDatabase', { DeletionPolicy: 'Delete' });
});

test('a customer managed key on the master secret gets kms:Decrypt through Secrets Manager only', () => {
  const stack = new Stack(testApp(), 'Biome', { env: { account: '222222222222', region: 'eu-west-1' } });
  new BiomeDatabase(stack, 'Database', {
    ...place(stack, 'alice', 'dev'),
    clusterArn: CLUSTER,
    masterSecretArn: MASTER,
    masterSecretKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/1234',
  });
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:222222222222:key/1234',
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        },
      ]),
    },
  });
});

test('two biomes share no database, role or secret name', () => {
  const a = build('alice').db;
  const b = build('alice-b').db;
  expect(a.databaseName).not.toBe(b.databaseName);
  expect(a.roleName).not.toBe(b.roleName);
});

test('a bad biome name fails with the rule (the biome scope refuses it before any resource)', () => {
  expect(() => build('Alice')).toThrow(/biome "Alice" must match/);
});
