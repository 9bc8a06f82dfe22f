/**
 * Canary releases in the templates: prod's `main` gets a CodeDeploy deployment group per service with
 * the configured canary and alarms on its alias `live`, registrations that tell the deploy trigger so,
 * and model registrations with their bake; dev's `main` and sandpits get none; the prod shared stack
 * routes the end of each deployment and main's alarms to the deploy trigger.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SERVICES, type ServiceRegistry } from '../../../lambda/services';
import { BiomeScope } from '../../../lambda/shared/scope';
import { buildApp } from '../../../lib/app';
import { BiomeStack, modelBakes } from '../../../lib/workload/biome/biome-stack';
import { rawPlaceholderConfig, testApp, testConfig, unacknowledgedFindings } from '../../fixtures/config';
import { parseConfig } from '../../../lib/config';

const REGISTRY: ServiceRegistry = SERVICES;
const NAMES = Object.keys(REGISTRY);
const prodMain = new BiomeScope('biomes', 'prod', 'main');

function biomeStack(biome: string, env: 'dev' | 'prod', config = testConfig()): BiomeStack {
  return new BiomeStack(testApp(), `biomes-${env}-${biome}`, {
    config,
    envName: env,
    biome,
    models: ['demo-scorer'],
  });
}

let prod: BiomeStack;
let template: Template;

beforeAll(() => {
  prod = biomeStack('main', 'prod');
  template = Template.fromStack(prod);
});

/** The registration JSON of a service or model, with the function name's Ref kept as a marker. */
function registration(name: string): Record<string, unknown> {
  const params = template.findResources('AWS::SSM::Parameter', { Properties: { Name: name } });
  const value = Object.values(params)[0]?.Properties?.Value as unknown;
  const text =
    typeof value === 'string'
      ? value
      : (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
          .map((p) => (typeof p === 'string' ? p : 'REF'))
          .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

describe("prod main: one CodeDeploy deployment group per service, the configured canary, alarms on the alias's errors and throttles", () => {
  test('one application named after the stack, one canary config of 10% for 10 minutes', () => {
    template.resourceCountIs('AWS::CodeDeploy::Application', 1);
    template.hasResourceProperties('AWS::CodeDeploy::Application', {
      ApplicationName: 'biomes-prod-main',
      ComputePlatform: 'Lambda',
    });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      ComputePlatform: 'Lambda',
      TrafficRoutingConfig: {
        Type: 'TimeBasedCanary',
        TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 10 },
      },
    });
  });

  test('a deployment group per service, named after it, with both alarms and rollback on failure, stop and alarm', () => {
    template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', NAMES.length);
    for (const service of NAMES) {
      const groups = template.findResources('AWS::CodeDeploy::DeploymentGroup', {
        Properties: { DeploymentGroupName: service },
      });
      const group = Object.values(groups)[0]?.Properties as Record<string, unknown>;
      expect(group).toMatchObject({
        DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
        AutoRollbackConfiguration: {
          Enabled: true,
          Events: expect.arrayContaining([
            'DEPLOYMENT_FAILURE',
            'DEPLOYMENT_STOP_ON_ALARM',
            'DEPLOYMENT_STOP_ON_REQUEST',
          ]),
        },
        AlarmConfiguration: { Enabled: true, Alarms: [expect.anything(), expect.anything()] },
      });
    }
  });

  test('the alarms watch alias live of the function (FunctionName and Resource <fn>:live), one error or throttle in a minute, with the alerts topic as action', () => {
    for (const service of NAMES) {
      for (const [metric, name] of [
        ['Errors', 'errors'],
        ['Throttles', 'throttles'],
      ] as const) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: prodMain.serviceAlarmName(service, name),
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Statistic: 'Sum',
          Period: 60,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          Dimensions: Match.arrayWith([
            Match.objectLike({ Name: 'Resource', Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }),
          ]),
          AlarmActions: [Match.anyValue()],
        });
      }
    }
    const alarm = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: prodMain.serviceAlarmName('ingest', 'errors') },
      }),
    )[0]?.Properties as { Dimensions: { Name: string; Value: unknown }[] };
    const resource = JSON.stringify(alarm.Dimensions.find((d) => d.Name === 'Resource')?.Value);
    expect(resource).toContain(':live');
  });

  test("each service's registration names its group and alarms, so the trigger starts a canary instead of moving live", () => {
    for (const service of NAMES) {
      expect(registration(prodMain.serviceRegistration(service)).canary).toEqual({
        application: 'biomes-prod-main',
        deploymentGroup: service,
        alarms: [
          prodMain.serviceAlarmName(service, 'errors'),
          prodMain.serviceAlarmName(service, 'throttles'),
        ],
        percent: 10,
        bakeMinutes: 10,
      });
    }
  });

  test("the model's registration bakes it under the errors alarms of the services that declare it", () => {
    const users = NAMES.filter((s) => REGISTRY[s]?.models?.includes('demo-scorer'));
    expect(users.length).toBeGreaterThan(0);
    expect(registration(prodMain.modelRegistration('demo-scorer')).bake).toEqual({
      minutes: 10,
      alarms: users.map((s) => prodMain.serviceAlarmName(s, 'errors')),
    });
    // A model no service declares has nothing to watch it: no bake.
    expect(modelBakes(REGISTRY, ['unused'], prodMain, 10)).toEqual({});
  });

  test('nothing of it is left unacknowledged by cdk-nag or the Control Tower rules', () => {
    const found = unacknowledgedFindings(prod.node.findChild('Canary'));
    expect(found).toEqual([]);
  });
});

describe('where the releases are not canaries', () => {
  test("dev's main and a sandpit have no deployment group and registrations without canary or bake", () => {
    for (const stack of [biomeStack('main', 'dev'), biomeStack('alice', 'dev')]) {
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
      t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
      const json = JSON.stringify(t.toJSON());
      expect(json).not.toContain('"canary"');
      expect(json).not.toContain('\\"bake\\"');
    }
  });

  test('`"canary": false` turns prod off; a canary in dev config turns dev on', () => {
    const raw = rawPlaceholderConfig() as { environments: Record<string, Record<string, unknown>> };
    raw.environments.prod!.canary = false;
    raw.environments.dev!.canary = { percent: 25, bakeMinutes: 5 };
    const config = parseConfig(raw);
    Template.fromStack(biomeStack('main', 'prod', config)).resourceCountIs(
      'AWS::CodeDeploy::DeploymentGroup',
      0,
    );
    const dev = Template.fromStack(biomeStack('main', 'dev', config));
    dev.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', NAMES.length);
    dev.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      TrafficRoutingConfig: { TimeBasedCanary: { CanaryPercentage: 25, CanaryInterval: 5 } },
    });
  });
});

describe("prod shared stack: the deploy trigger hears each canary's end and main's alarms", () => {
  test('two rules: CodeDeploy SUCCESS/FAILURE/STOP of biomes-prod-main, and ALARM of alarms under biomes-prod-main-; dev has neither', () => {
    const app = testApp();
    const built = buildApp(app, testConfig(), { kind: 'all' });
    const shared = Template.fromStack(built.shared.prod!);
    shared.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.codedeploy'],
        'detail-type': ['CodeDeploy Deployment State-change Notification'],
        detail: { application: ['biomes-prod-main'], state: ['SUCCESS', 'FAILURE', 'STOP'] },
      },
    });
    shared.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: 'biomes-prod-main-' }], state: { value: ['ALARM'] } },
      },
    });
    const dev = JSON.stringify(Template.fromStack(built.shared.dev!).findResources('AWS::Events::Rule'));
    expect(dev).not.toContain('aws.codedeploy');
    expect(dev).not.toContain('aws.cloudwatch');
    // CodeDeploy's events are best effort: a sweep every 5 minutes settles what was not heard.
    const sweeps = Object.values(shared.findResources('AWS::Scheduler::Schedule')).filter((r) =>
      JSON.stringify(r).includes('settle-canaries'),
    );
    expect(sweeps).toHaveLength(1);
    expect(sweeps[0]?.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)' });
    expect(JSON.stringify(Template.fromStack(built.shared.dev!).toJSON())).not.toContain('settle-canaries');
  });
});
