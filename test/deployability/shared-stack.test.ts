/**
 * What CloudFormation waits on in the shared and mainline biome stacks, checked on the templates the
 * app synthesizes (docs/deployability.md gives each condition, its source and what cannot be checked
 * offline). The whole app is built once, as `cdk synth` builds it, with the placeholder config.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { EnvScope } from '../../lambda/shared/scope';
import { type BuiltApp, buildApp } from '../../lib/app';
import { type BiomesConfig, type EnvironmentConfig } from '../../lib/config';
import { AURORA_POSTGRES_VERSION } from '../../lib/workload/shared/database';
import { supportsVolumeKmsKey } from '../../lib/workload/shared/inference-image';
import { PINNED_LOGICAL_IDS } from '../../lib/workload/shared/logical-ids';
import { testApp, testConfig } from '../fixtures/config';
import {
  asArray,
  type CfnTemplate,
  createdBefore,
  iamLike,
  literal,
  type Pseudo,
  rdsClusterIdentifierProblem,
  referencesIn,
  type Resource,
  resourcesOf,
  SAGEMAKER_NAME,
  statementsOf,
} from './template';

let config: BiomesConfig;
let built: BuiltApp;
const shared: Record<string, CfnTemplate> = {};
const mainline: Record<string, CfnTemplate> = {};

beforeAll(() => {
  config = testConfig();
  built = buildApp(testApp(), config, { kind: 'all' });
  for (const env of config.environments) {
    shared[env.name] = Template.fromStack(built.shared[env.name]!).toJSON() as CfnTemplate;
    const main = built.biomes.find((b) => b.names.env === env.name && b.names.biome === 'main')!;
    mainline[env.name] = Template.fromStack(main).toJSON() as CfnTemplate;
  }
}, 60_000);

const ENVS = ['dev', 'staging', 'prod'] as const;
const env = (name: string): EnvironmentConfig => config.environments.find((e) => e.name === name)!;
const pseudo = (name: string): Pseudo => ({
  account: env(name).account,
  region: config.region,
  partition: 'aws',
});
const props = (r: Resource | undefined) => (r?.Properties ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const only = (t: CfnTemplate, type: string): [string, Resource] => {
  const found = resourcesOf(t, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
/** `major.minor` as numbers. */
const version = (v: string) => v.split('.').map(Number) as [number, number];
const atLeast = (v: string, min: string) => {
  const [a, b] = version(v);
  const [c, d] = version(min);
  return a > c || (a === c && b >= d);
};

describe.each(ENVS)('Aurora cluster and instance (%s)', (name) => {
  const cluster = () => props(shared[name]!.Resources[PINNED_LOGICAL_IDS.databaseCluster]);

  test('the engine version supports the Data API (16.1+) and, where min capacity is 0, scale to zero (16.3+)', () => {
    const v = String(cluster().EngineVersion);
    expect(v).toBe(AURORA_POSTGRES_VERSION.auroraPostgresFullVersion);
    expect(cluster().Engine).toBe('aurora-postgresql');
    // Aurora User Guide, "Supported Regions and Aurora DB engines for RDS Data API": 16.1 and higher
    // in the 16 line, in every Region of the table.
    expect(version(v)[0]).toBe(16);
    expect(atLeast(v, '16.1')).toBe(true);
    expect(cluster().EnableHttpEndpoint).toBe(true);
    if (cluster().ServerlessV2ScalingConfiguration.MinCapacity === 0) {
      // "Scaling to Zero ACUs": 16.3+ in the 16 line (aws-cdk-lib checks the same: >=16.3 || ^15.7 ...).
      expect(atLeast(v, '16.3')).toBe(true);
    }
  });

  test('the cluster parameter group family is aurora-postgresql<major of the engine>', () => {
    const groupId = referencesIn(cluster().DBClusterParameterGroupName);
    expect(groupId.size).toBe(1);
    const group = props(shared[name]!.Resources[[...groupId][0]!]);
    expect(group.Family).toBe(`aurora-postgresql${version(String(cluster().EngineVersion))[0]}`);
  });

  test('capacity in half-ACU steps, max 1-256 and at least min; auto-pause 300-86400 s only with min 0', () => {
    const scaling = cluster().ServerlessV2ScalingConfiguration;
    const { MinCapacity: min, MaxCapacity: max, SecondsUntilAutoPause: pause } = scaling;
    expect((min * 2) % 1).toBe(0);
    expect((max * 2) % 1).toBe(0);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeGreaterThanOrEqual(Math.max(1, min));
    expect(max).toBeLessThanOrEqual(256);
    if (min === 0) {
      expect(pause).toBeGreaterThanOrEqual(300);
      expect(pause).toBeLessThanOrEqual(86_400);
    } else {
      expect(pause).toBeUndefined();
    }
    expect(min).toBe(env(name).database.minCapacity);
    const [, instance] = only(shared[name]!, 'AWS::RDS::DBInstance');
    expect(props(instance).DBInstanceClass).toBe('db.serverless');
  });

  test('the PostgreSQL log group is /aws/rds/cluster/<DBClusterIdentifier>/postgresql, created before the cluster and its instance', () => {
    const id = String(cluster().DBClusterIdentifier);
    expect(id).toBe(new EnvScope(config.appName, name).databaseClusterIdentifier);
    expect(cluster().EnableCloudwatchLogsExports).toEqual(['postgresql']);
    const groups = resourcesOf(shared[name]!, 'AWS::Logs::LogGroup').filter(
      ([, g]) => props(g).LogGroupName === `/aws/rds/cluster/${id}/postgresql`,
    );
    expect(groups).toHaveLength(1);
    const [groupId] = groups[0]!;
    expect(createdBefore(shared[name]!, PINNED_LOGICAL_IDS.databaseCluster)).toContain(groupId);
    const [instanceId] = only(shared[name]!, 'AWS::RDS::DBInstance');
    expect(createdBefore(shared[name]!, instanceId)).toContain(groupId);
  });

  test('the cluster identifier follows the RDS rules', () => {
    expect(rdsClusterIdentifierProblem(String(cluster().DBClusterIdentifier))).toBeUndefined();
  });

  test('the subnet group spans the first two zones of the region (Aurora needs two)', () => {
    const groupId = [...referencesIn(cluster().DBSubnetGroupName)][0]!;
    const subnets = asArray(props(shared[name]!.Resources[groupId]).SubnetIds).map(
      (s) => [...referencesIn(s)][0]!,
    );
    expect(subnets).toHaveLength(2);
    const zones = subnets.map((s) => props(shared[name]!.Resources[s]).AvailabilityZone);
    expect(zones).toEqual([
      { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] },
    ]);
  });

  test('master user: a name RDS accepts; a generated password of 8-41 characters without / " @ or space', () => {
    expect(cluster().MasterUsername).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,62}$/);
    expect(['rdsadmin', 'postgres', 'admin']).not.toContain(cluster().MasterUsername);
    const secretId = [...referencesIn(cluster().MasterUserPassword)][0]!;
    const generate = props(shared[name]!.Resources[secretId]).GenerateSecretString;
    expect(generate.PasswordLength).toBeGreaterThanOrEqual(8);
    expect(generate.PasswordLength).toBeLessThanOrEqual(41);
    for (const c of ['/', '"', '@', ' ', "'"]) expect(generate.ExcludeCharacters).toContain(c);
  });

  test('enhanced monitoring: an interval RDS accepts and a role monitoring.rds.amazonaws.com may assume', () => {
    const [, instance] = only(shared[name]!, 'AWS::RDS::DBInstance');
    expect([1, 5, 10, 15, 30, 60]).toContain(props(instance).MonitoringInterval);
    expectAssumableOnlyBy(shared[name]!, props(instance).MonitoringRoleArn, 'monitoring.rds.amazonaws.com');
  });

  test('storage is encrypted with a key of the stack whose policy lets the account (and so RDS, for it) use it', () => {
    expect(cluster().StorageEncrypted).toBe(true);
    expect(cluster().KmsKeyId).toEqual({ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.databaseKey, 'Arn'] });
    expectAccountDelegation(name, PINNED_LOGICAL_IDS.databaseKey);
  });
});

/** The key's policy has the account root statement (IAM policies of the account decide). */
function expectAccountDelegation(envName: string, keyId: string) {
  const statements = statementsOf(props(shared[envName]!.Resources[keyId]).KeyPolicy);
  const root = statements.filter(
    (s) =>
      s.Effect === 'Allow' &&
      s.Action === 'kms:*' &&
      literal((s.Principal as { AWS?: unknown }).AWS, pseudo(envName)) ===
        `arn:aws:iam::${env(envName).account}:root`,
  );
  expect(root).toHaveLength(1);
}

describe.each(ENVS)('the logs key and every log group (%s)', (name) => {
  const logsStatement = () =>
    statementsOf(props(shared[name]!.Resources[PINNED_LOGICAL_IDS.logsKey]).KeyPolicy).find(
      (s) => (s.Principal as { Service?: string }).Service === `logs.${config.region}.amazonaws.com`,
    )!;

  test('admits CloudWatch Logs of the region with the actions and encryption-context condition of the CloudWatch Logs guide', () => {
    const s = logsStatement();
    expect(s.Effect).toBe('Allow');
    expect(asArray(s.Action as string[]).sort()).toEqual(
      ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'].sort(),
    );
    const condition = s.Condition as { ArnLike: Record<string, string> };
    expect(Object.keys(condition)).toEqual(['ArnLike']);
    expect(Object.keys(condition.ArnLike)).toEqual(['kms:EncryptionContext:aws:logs:arn']);
  });

  test('every log group of the shared and mainline stacks is one the condition admits, encrypted with this key', () => {
    const pattern = (logsStatement().Condition as { ArnLike: Record<string, string> }).ArnLike[
      'kms:EncryptionContext:aws:logs:arn'
    ]!;
    const arnOf = (groupName: unknown) =>
      `arn:aws:logs:${config.region}:${env(name).account}:log-group:${typeof groupName === 'string' ? groupName : 'generated-by-cloudformation'}`;
    const sharedGroups = resourcesOf(shared[name]!, 'AWS::Logs::LogGroup');
    const biomeGroups = resourcesOf(mainline[name]!, 'AWS::Logs::LogGroup');
    expect(sharedGroups.length).toBeGreaterThan(0);
    expect(biomeGroups.length).toBeGreaterThan(0);
    for (const [, g] of [...sharedGroups, ...biomeGroups]) {
      expect(iamLike(pattern, arnOf(props(g).LogGroupName))).toBe(true);
    }
    // Shared stack: the key itself; biome stacks: the key's ARN, from the shared parameter.
    for (const [, g] of sharedGroups) {
      expect(props(g).KmsKeyId).toEqual({ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.logsKey, 'Arn'] });
    }
    const parameterName = new EnvScope(config.appName, name).sharedParameter('logsKeyArn');
    for (const [, g] of biomeGroups) {
      expect(props(g).KmsKeyId).toBe(`{{resolve:ssm:${parameterName}}}`);
    }
    const parameter = resourcesOf(shared[name]!, 'AWS::SSM::Parameter').find(
      ([, p]) => props(p).Name === parameterName,
    )!;
    expect(props(parameter[1]).Value).toEqual({ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.logsKey, 'Arn'] });
    // The biome stack deploys into the account of the key's policy.
    const main = built.biomes.find((b) => b.names.env === name && b.names.biome === 'main')!;
    expect(main.account).toBe(env(name).account);
  });

  test('the policy is part of the key (no separate resource a log group could race)', () => {
    expect(resourcesOf(shared[name]!, 'AWS::KMS::KeyPolicy')).toEqual([]);
    expectAccountDelegation(name, PINNED_LOGICAL_IDS.logsKey);
  });
});

describe.each(ENVS)('SageMaker model, endpoint configuration and endpoint (%s)', (name) => {
  test('a volume key only on instance types with EBS storage, and that key lets the account use it', () => {
    const [, endpointConfig] = only(shared[name]!, 'AWS::SageMaker::EndpointConfig');
    const variants = props(endpointConfig).ProductionVariants as Record<string, unknown>[];
    expect(variants).toHaveLength(1);
    const type = String(variants[0]!.InstanceType);
    expect(type).toBe(env(name).inference.instanceType);
    if (supportsVolumeKmsKey(type)) {
      expect(props(endpointConfig).KmsKeyId).toEqual({ 'Fn::GetAtt': [PINNED_LOGICAL_IDS.modelKey, 'Arn'] });
      expectAccountDelegation(name, PINNED_LOGICAL_IDS.modelKey);
    } else {
      expect(props(endpointConfig).KmsKeyId).toBeUndefined();
    }
    expect(variants[0]!.InitialInstanceCount).toBeGreaterThanOrEqual(1);
    expect(String(variants[0]!.VariantName)).toMatch(SAGEMAKER_NAME);
  });

  test('the endpoint name follows SageMaker’s pattern; model and configuration names are generated', () => {
    const [, endpoint] = only(shared[name]!, 'Custom::InferenceEndpoint');
    expect(String(props(endpoint).EndpointName)).toMatch(SAGEMAKER_NAME);
    const [, model] = only(shared[name]!, 'AWS::SageMaker::Model');
    expect(props(model).ModelName).toBeUndefined();
    const [, endpointConfig] = only(shared[name]!, 'AWS::SageMaker::EndpointConfig');
    expect(props(endpointConfig).EndpointConfigName).toBeUndefined();
  });

  test('the Model is created after every policy of its execution role, which SageMaker may assume', () => {
    const [modelId, model] = only(shared[name]!, 'AWS::SageMaker::Model');
    const roleId = expectAssumableOnlyBy(
      shared[name]!,
      props(model).ExecutionRoleArn,
      'sagemaker.amazonaws.com',
    );
    const policies = policiesOfRole(shared[name]!, roleId);
    expect(policies.length).toBeGreaterThan(0);
    const before = createdBefore(shared[name]!, modelId);
    for (const p of policies) expect(before).toContain(p);
    // The endpoint (its owner's custom resource) follows its configuration, which follows the model.
    const [endpointId] = only(shared[name]!, 'Custom::InferenceEndpoint');
    expect(createdBefore(shared[name]!, endpointId)).toContain(modelId);
  });
});

/** AWS::IAM::Policy resources attached to the role `roleId`. */
/** The role `roleArn` refers to may be assumed by `service` alone; returns the role's logical id. */
function expectAssumableOnlyBy(t: CfnTemplate, roleArn: unknown, service: string): string {
  const roleId = [...referencesIn(roleArn)][0]!;
  expect(statementsOf(props(t.Resources[roleId]).AssumeRolePolicyDocument)).toEqual([
    expect.objectContaining({ Action: 'sts:AssumeRole', Principal: { Service: service } }),
  ]);
  return roleId;
}

function policiesOfRole(t: CfnTemplate, roleId: string): string[] {
  return resourcesOf(t, 'AWS::IAM::Policy')
    .filter(([, p]) => asArray(props(p).Roles).some((r) => referencesIn(r).has(roleId)))
    .map(([id]) => id);
}

/** Actions a policy resource allows, flattened. */
function actionsOf(t: CfnTemplate, policyId: string): string[] {
  return statementsOf(props(t.Resources[policyId]).PolicyDocument).flatMap((s) =>
    s.Effect === 'Allow' ? asArray(s.Action as string | string[]) : [],
  );
}

const bothStacks = (): [string, CfnTemplate][] =>
  ENVS.flatMap((n) => [
    [`${n} shared`, shared[n]!] as [string, CfnTemplate],
    [`${n} main`, mainline[n]!] as [string, CfnTemplate],
  ]);

describe('Lambda functions and custom resources (shared and mainline stacks of every environment)', () => {
  test("every function is created after its role's policies", () => {
    for (const [, t] of bothStacks()) {
      for (const [id, fn] of resourcesOf(t, 'AWS::Lambda::Function')) {
        const roleId = [...referencesIn(props(fn).Role)][0]!;
        const before = createdBefore(t, id);
        for (const p of policiesOfRole(t, roleId)) expect(before).toContain(p);
      }
    }
  });

  test('runtimes are supported ones (nodejs22.x or newer), and no function but the endpoint owner sets a physical name', () => {
    for (const [, t] of bothStacks()) {
      for (const [, fn] of resourcesOf(t, 'AWS::Lambda::Function')) {
        expect(String(props(fn).Runtime)).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
        // `npm run wake` invokes the endpoint's owner by name (EnvScope.inferenceEndpointFunctionName),
        // within Lambda's 64 characters (the longest names: test/deployability/longest-names.test.ts).
        const name = props(fn).FunctionName;
        if (name !== undefined) {
          expect(String(name)).toMatch(/^[a-z0-9-]+-inference-endpoint$/);
          expect(String(name).length).toBeLessThanOrEqual(64);
        }
        expect(String(props(fn).Description ?? '').length).toBeLessThanOrEqual(256);
      }
    }
  });

  test('every function logs to a group its stack owns (encrypted, with retention), created before it first runs', () => {
    for (const [where, t] of bothStacks()) {
      const groups = resourcesOf(t, 'AWS::Logs::LogGroup');
      for (const [id, fn] of resourcesOf(t, 'AWS::Lambda::Function')) {
        const configured = props(fn).LoggingConfig?.LogGroup;
        // aws-cdk-lib's singleton providers have no logging setting: their default group is ours.
        const owned = configured
          ? groups.find(([gid]) => referencesIn(configured).has(gid))
          : groups.find(([, g]) => referencesIn(props(g).LogGroupName).has(id));
        expect([where, id, owned !== undefined]).toEqual([where, id, true]);
        const group = props(owned![1]);
        expect([where, id, group.KmsKeyId !== undefined, typeof group.RetentionInDays]).toEqual([
          where,
          id,
          true,
          'number',
        ]);
        if (!configured) {
          // Every custom resource served by it waits for the group (else Lambda would create it first).
          const users = Object.entries(t.Resources).filter(([, r]) =>
            referencesIn(props(r).ServiceToken).has(id),
          );
          expect(users.length).toBeGreaterThan(0);
          for (const [uid] of users) expect([uid, createdBefore(t, uid).has(owned![0])]).toEqual([uid, true]);
        }
      }
    }
  });

  test('environment variables stay under the 4 KB Lambda allows (a deploy-time value counted as 256 characters)', () => {
    for (const [, t] of bothStacks()) {
      for (const [, fn] of resourcesOf(t, 'AWS::Lambda::Function')) {
        const variables = (props(fn).Environment?.Variables ?? {}) as Record<string, unknown>;
        const size = Object.entries(variables).reduce(
          (sum, [k, v]) => sum + k.length + (typeof v === 'string' ? v.length : 256),
          0,
        );
        expect(size).toBeLessThan(4096);
      }
    }
  });

  test("the deploy trigger's on-failure queue is in its role's policy before the EventInvokeConfig is created", () => {
    for (const name of ENVS) {
      const t = shared[name]!;
      // The deploy trigger's (the sandpit recorder and sweeper have their own, where sandpits live).
      const configs = resourcesOf(t, 'AWS::Lambda::EventInvokeConfig').filter(([id]) =>
        id.startsWith('DeployTrigger'),
      );
      expect(configs).toHaveLength(1);
      const [configId, invokeConfig] = configs[0]!;
      const queueId = [...referencesIn(props(invokeConfig).DestinationConfig.OnFailure.Destination)][0]!;
      expect(t.Resources[queueId]?.Type).toBe('AWS::SQS::Queue');
      const fnId = [...referencesIn(props(invokeConfig).FunctionName)][0]!;
      const roleId = [...referencesIn(props(t.Resources[fnId]).Role)][0]!;
      const sending = policiesOfRole(t, roleId).filter((p) =>
        statementsOf(props(t.Resources[p]).PolicyDocument).some(
          (s) =>
            asArray(s.Action as string | string[]).includes('sqs:SendMessage') &&
            referencesIn(s.Resource).has(queueId),
        ),
      );
      expect(sending).toHaveLength(1);
      expect(createdBefore(t, configId)).toContain(sending[0]);
    }
  });

  test('every custom resource is served by a function of its own stack; a provider onEvent times out before the framework (5 < 15 min < 1 h)', () => {
    for (const [, t] of bothStacks()) {
      const custom = Object.entries(t.Resources).filter(
        ([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource',
      );
      for (const [, r] of custom) {
        const fnId = [...referencesIn(props(r).ServiceToken)][0]!;
        const fn = t.Resources[fnId];
        expect(fn?.Type).toBe('AWS::Lambda::Function');
        const timeout = Number(props(fn).Timeout);
        // CloudFormation waits for a custom resource an hour unless ServiceTimeout says otherwise.
        expect(props(r).ServiceTimeout).toBeUndefined();
        expect(timeout).toBeLessThanOrEqual(900);
        const userFn = props(fn).Environment?.Variables?.USER_ON_EVENT_FUNCTION_ARN;
        if (userFn) {
          const userTimeout = Number(props(t.Resources[[...referencesIn(userFn)][0]!]).Timeout);
          expect(userTimeout).toBeLessThan(timeout);
        }
      }
    }
  });

  test("the biome database and model cleanup run only once their onEvent role's policy (Data API, secrets, S3) exists", () => {
    for (const name of ENVS) {
      const t = mainline[name]!;
      for (const [crId] of resourcesOf(t, 'Custom::BiomeDatabase')) {
        const before = createdBefore(t, crId);
        const policies = [...before].filter((id) => t.Resources[id]?.Type === 'AWS::IAM::Policy');
        expect(policies.some((p) => actionsOf(t, p).includes('rds-data:ExecuteStatement'))).toBe(true);
        expect(policies.some((p) => actionsOf(t, p).includes('secretsmanager:GetSecretValue'))).toBe(true);
        expect(policies.some((p) => actionsOf(t, p).includes('lambda:InvokeFunction'))).toBe(true);
      }
      const cleanups = resourcesOf(t, 'Custom::BiomeModels');
      // A protected environment's main has no cleanup at all (its models are kept).
      expect(cleanups).toHaveLength(env(name).protected ? 0 : 1);
      for (const [crId] of cleanups) {
        const before = createdBefore(t, crId);
        const policies = [...before].filter((id) => t.Resources[id]?.Type === 'AWS::IAM::Policy');
        expect(policies.some((p) => actionsOf(t, p).includes('s3:DeleteObjectVersion'))).toBe(true);
      }
    }
  });
});

describe('policies name only principals that exist when the stack deploys', () => {
  /** Every Principal.AWS of the resource and trust policies of a template. */
  function awsPrincipals(t: CfnTemplate): unknown[] {
    const documents: unknown[] = [];
    for (const [, r] of Object.entries(t.Resources)) {
      const p = props(r);
      if (r.Type === 'AWS::S3::BucketPolicy') documents.push(p.PolicyDocument);
      if (r.Type === 'AWS::KMS::Key') documents.push(p.KeyPolicy);
      if (r.Type === 'AWS::SQS::QueuePolicy' || r.Type === 'AWS::SNS::TopicPolicy')
        documents.push(p.PolicyDocument);
      if (r.Type === 'AWS::IAM::Role') documents.push(p.AssumeRolePolicyDocument);
    }
    return documents
      .flatMap((d) => statementsOf(d))
      .flatMap((s) => asArray((s.Principal as { AWS?: unknown } | undefined)?.AWS));
  }

  test.each(ENVS)(
    '%s: account roots, "*" or roles of the same template; the DevOps replication role only by condition',
    (name) => {
      for (const t of [shared[name]!, mainline[name]!]) {
        for (const principal of awsPrincipals(t)) {
          const text = literal(principal, pseudo(name));
          if (text !== undefined) {
            // S3, KMS and IAM refuse a policy whose principal ARN does not exist; an account root always does.
            expect(text).toMatch(/^(\*|\d{12}|arn:aws:iam::\d{12}:root)$/);
          } else {
            for (const id of referencesIn(principal)) expect(t.Resources[id]).toBeDefined();
          }
        }
      }
      const landingPolicy = resourcesOf(shared[name]!, 'AWS::S3::BucketPolicy').find(([, p]) =>
        referencesIn(props(p).Bucket).has(PINNED_LOGICAL_IDS.landingBucket),
      )!;
      const replication = statementsOf(props(landingPolicy[1]).PolicyDocument).filter(
        (s) => typeof s.Sid === 'string' && s.Sid.startsWith('DevopsReplication'),
      );
      expect(replication).toHaveLength(2);
      for (const s of replication) {
        expect(s.Condition).toEqual({
          ArnEquals: {
            'aws:PrincipalArn': `arn:aws:iam::${config.devopsAccount}:role/${config.appName}-devops-release-replication`,
          },
        });
      }
    },
  );
});

describe.each(ENVS)('other resources of the shared stack (%s)', (name) => {
  test('security group descriptions use only the characters EC2 accepts (at most 255)', () => {
    for (const [, sg] of resourcesOf(shared[name]!, 'AWS::EC2::SecurityGroup')) {
      expect(String(props(sg).GroupDescription)).toMatch(/^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/);
    }
  });

  test("IAM role descriptions are in IAM's character set, at most 1000 characters", () => {
    for (const t of [shared[name]!, mainline[name]!]) {
      for (const [, role] of resourcesOf(t, 'AWS::IAM::Role')) {
        const description = props(role).Description;
        if (description === undefined) continue;
        const text = String(description);
        expect(text.length).toBeLessThanOrEqual(1000);
        // IAM's pattern: tab, line feed, carriage return, printable ASCII and Latin-1 above 0xA0.
        for (const c of text) {
          const code = c.codePointAt(0)!;
          expect(
            code === 9 ||
              code === 10 ||
              code === 13 ||
              (code >= 0x20 && code <= 0x7e) ||
              (code >= 0xa1 && code <= 0xff),
          ).toBe(true);
        }
      }
    }
  });

  test("the ledger global table has exactly one replica, in the stack's region", () => {
    const replicas = props(shared[name]!.Resources[PINNED_LOGICAL_IDS.ledgerTable]).Replicas as {
      Region: string;
    }[];
    expect(replicas.map((r) => r.Region)).toEqual([config.region]);
  });

  test('SSM parameters: valid names of at most 15 levels, standard-tier values (under 4 KB)', () => {
    for (const t of [shared[name]!, mainline[name]!]) {
      for (const [, p] of resourcesOf(t, 'AWS::SSM::Parameter')) {
        const parameterName = String(props(p).Name);
        expect(parameterName).toMatch(/^(\/[a-zA-Z0-9_.-]+)+$/);
        expect(parameterName.split('/').length - 1).toBeLessThanOrEqual(15);
        expect(props(p).Tier ?? 'Standard').toBe('Standard');
        const value = props(p).Value;
        expect(typeof value === 'string' ? value.length : 2048).toBeLessThan(4096);
      }
    }
  });
});

describe('a first create that fails can be retried', () => {
  // CloudFormation keeps `Retain` resources when the create that made them rolls back; a named one
  // then makes the retry fail ("already exists"). `RetainExceptOnCreate` (CDK
  // RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE) deletes it on that rollback and retains it otherwise
  // (CloudFormation User Guide, DeletionPolicy attribute). The protected environment's landing bucket
  // has a fixed name, so lib/workload/shared/env-policy.ts RETAIN uses RetainExceptOnCreate: a failed
  // first deploy of biomes-prod-shared (an endpoint instance quota, say) can be retried.
  const NAME_PROPERTIES = ['BucketName', 'TableName', 'AliasName', 'LogGroupName', 'Name', 'RoleName'];
  test.each(ENVS.filter((n) => n === 'prod'))(
    '%s: no resource with a fixed name is kept by a rolled-back create (Retain without ExceptOnCreate)',
    (name) => {
      const kept = Object.entries(shared[name]!.Resources).filter(
        ([, r]) =>
          r.DeletionPolicy === 'Retain' && NAME_PROPERTIES.some((k) => typeof props(r)[k] === 'string'),
      );
      expect(kept.map(([id]) => id)).toEqual([]);
    },
  );

  test('the same check passes where data is not retained (dev): the test sees named resources', () => {
    const named = Object.entries(shared.dev!.Resources).filter(([, r]) =>
      NAME_PROPERTIES.some((k) => typeof props(r)[k] === 'string'),
    );
    expect(named.map(([id]) => id)).toContain(PINNED_LOGICAL_IDS.landingBucket);
    expect(named.every(([, r]) => r.DeletionPolicy !== 'Retain')).toBe(true);
  });
});
