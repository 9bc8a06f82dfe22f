/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized templates are untyped JSON. */
/**
 * The inference endpoint's owner in the shared stack (lib/workload/shared/inference-endpoint.ts): the
 * custom resource in place of AWS::SageMaker::Endpoint, its schedule, and what its role may do (proven
 * with the IAM evaluator of test/iam/policies.ts). Its behaviour: test/lambda/inference-endpoint/.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../../lib/app';
import { environmentOf } from '../../../lib/config';
import { WAITING_PK } from '../../../lambda/shared/inference-schedule';
import { testApp, testConfig } from '../../fixtures/config';
import { type Decision, PolicyWorld } from '../../iam/policies';

const config = testConfig();
const app = testApp();
const all = buildApp(app, config, { kind: 'all' });
const shared = (env: string) => Template.fromStack(all.shared[env]!);
const world = PolicyWorld.fromAssemblies(app.synth());
const REGION = config.region;
const account = (env: string) => environmentOf(config, env).account;

describe.each(['dev', 'staging', 'prod'])('%s', (env) => {
  const t = shared(env);
  const schedule = environmentOf(config, env).inference.schedule;

  test('the endpoint is Custom::InferenceEndpoint on the configuration, with the schedule of the config', () => {
    const [configId] = Object.keys(t.findResources('AWS::SageMaker::EndpointConfig'));
    t.hasResourceProperties('Custom::InferenceEndpoint', {
      EndpointName: `biomes-${env}-models`,
      EndpointConfigName: { 'Fn::GetAtt': [configId, 'EndpointConfigName'] },
      Schedule: schedule ? JSON.stringify(schedule) : 'none',
      Env: env,
    });
    t.resourceCountIs('AWS::SageMaker::Endpoint', 0);
  });

  test('its owner is named for npm run wake and told the ledger, the deploy trigger and the schedule', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: `biomes-${env}-shared-inference-endpoint`,
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          BIOMES_APP_NAME: 'biomes',
          BIOMES_ENV_NAME: env,
          BIOMES_INFERENCE_SCHEDULE: schedule ? JSON.stringify(schedule) : 'none',
          BIOMES_DEPLOY_TRIGGER_FUNCTION: Match.anyValue(),
          BIOMES_LEDGER_TABLE: Match.anyValue(),
        }),
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.isComplete' });
  });

  test('a reconcile every 5 minutes, after the custom resource wrote the state', () => {
    // Its own schedule (prod also has the canary sweep at the same rate).
    const schedules = t.findResources('AWS::Scheduler::Schedule', {
      Properties: {
        ScheduleExpression: 'rate(5 minutes)',
        Target: { Input: JSON.stringify({ action: 'reconcile' }) },
      },
    });
    const [[, reconcile]] = Object.entries(schedules) as [[string, any]];
    expect(JSON.parse(reconcile.Properties.Target.Input)).toEqual({ action: 'reconcile' });
    expect(reconcile.Properties.Target.RetryPolicy.MaximumRetryAttempts).toBe(0);
    const [resourceId] = Object.keys(t.findResources('Custom::InferenceEndpoint'));
    expect(reconcile.DependsOn).toEqual(expect.arrayContaining([resourceId]));
  });

  test('CloudFormation waits up to an hour, polling every 30 s; the waiter is logged and traced', () => {
    const machines = t.findResources('AWS::StepFunctions::StateMachine');
    const waiter = Object.entries(machines).find(([id]) => id.startsWith('InferenceEndpointProviderwaiter'))!;
    expect(waiter[1].Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(waiter[1].Properties.LoggingConfiguration.Level).toBe('ALL');
    const definition = JSON.stringify(waiter[1].Properties.DefinitionString);
    expect(definition).toContain('\\"IntervalSeconds\\":30');
    expect(definition).toContain('\\"MaxAttempts\\":120');
  });
});

describe("the owner's role (IAM evaluator)", () => {
  const dev = all.shared.dev!;
  const owner = () => world.roleOf(dev.inferenceEndpoint.function);
  const endpoint = (name: string) => `arn:aws:sagemaker:${REGION}:${account('dev')}:endpoint/${name}`;
  const config = `arn:aws:sagemaker:${REGION}:${account('dev')}:endpoint-config/inferenceendpointconfig-abc`;
  const parameter = (path: string) => `arn:aws:ssm:${REGION}:${account('dev')}:parameter${path}`;

  test('creates, updates and deletes its own endpoint, on a configuration, and nothing else', async () => {
    for (const action of ['CreateEndpoint', 'UpdateEndpoint', 'DeleteEndpoint', 'DescribeEndpoint']) {
      expect([
        action,
        await world.can(owner(), `sagemaker:${action}`, endpoint('biomes-dev-models')),
      ]).toEqual([action, 'Allowed']);
      expect(
        await world.can(owner(), `sagemaker:${action}`, endpoint('biomes-prod-models')),
      ).not.toBe<Decision>('Allowed');
    }
    expect(await world.can(owner(), 'sagemaker:CreateEndpoint', config)).toBe<Decision>('Allowed');
    expect(await world.can(owner(), 'sagemaker:DeleteEndpointConfig', config)).not.toBe<Decision>('Allowed');
  });

  test('writes only the state parameter', async () => {
    expect(
      await world.can(owner(), 'ssm:PutParameter', parameter('/biomes/dev/shared/inference/state')),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(owner(), 'ssm:PutParameter', parameter('/biomes/dev/main/model-pointers/demo-scorer')),
    ).not.toBe<Decision>('Allowed');
  });

  test('reads and deletes only the waiting deploys of the ledger', async () => {
    const ledger = world.arnOf(dev.ledger);
    expect(
      await world.can(owner(), 'dynamodb:Query', ledger, { 'dynamodb:LeadingKeys': [WAITING_PK] }),
    ).toBe<Decision>('Allowed');
    expect(
      await world.can(owner(), 'dynamodb:DeleteItem', ledger, { 'dynamodb:LeadingKeys': ['BIOME#main'] }),
    ).not.toBe<Decision>('Allowed');
    expect(
      await world.can(owner(), 'dynamodb:PutItem', ledger, { 'dynamodb:LeadingKeys': [WAITING_PK] }),
    ).not.toBe<Decision>('Allowed');
  });
});
