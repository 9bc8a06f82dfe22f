import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SERVICES as REGISTRY } from '../../../lambda/services';
import { TAGS } from '../../../lambda/shared/contracts';
import { BiomeScope } from '../../../lambda/shared/scope';
import { modelPointerVariable, SERVICE_ENV } from '../../../lambda/shared/settings';
import { environmentOf } from '../../../lib/config';
import { BiomeStack } from '../../../lib/workload/biome/biome-stack';
import { bootstrapCode } from '../../../lib/workload/biome/microservice';
import { discoverModels } from '../../../lib/workload/biome/models';
import { testApp, testConfig, unacknowledgedFindings } from '../../fixtures/config';

type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  }
>;

const SERVICES = Object.keys(REGISTRY);

function biomeStack(biome: string, env: 'dev' | 'staging' | 'prod' = 'dev'): BiomeStack {
  return new BiomeStack(testApp(), `biomes-${env}-${biome}`, {
    config: testConfig(),
    envName: env,
    biome,
    models: ['demo-scorer'],
  });
}

let alice: BiomeStack;
let template: Template;
let resources: Resources;

beforeAll(() => {
  alice = biomeStack('alice');
  template = Template.fromStack(alice);
  resources = template.toJSON().Resources as Resources;
});

/** Logical id of the only resource of `type` whose logical id starts with `prefix`. */
function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** The properties of the resource with this logical id; a missing resource fails the test. */
function propertiesOf(id: string): Record<string, unknown> {
  const properties = resources[id]?.Properties;
  if (!properties) throw new Error(`no resource ${id} with properties in the template`);
  return properties;
}

/** Resolves a Fn::Join of literals and Refs (Refs become `<Ref:id>`), for values built from tokens. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((p) => (typeof p === 'string' ? p : `<Ref:${(p as { Ref: string }).Ref}>`))
    .join(join[0]);
}

describe('teardown and cost', () => {
  test('nothing is retained or snapshotted', () => {
    const kept = Object.entries(resources).filter(
      ([, r]) =>
        ['Retain', 'Snapshot', 'RetainExceptOnCreate'].includes(r.DeletionPolicy ?? '') ||
        ['Retain', 'Snapshot'].includes(r.UpdateReplacePolicy ?? ''),
    );
    expect(kept.map(([id]) => id)).toEqual([]);
  });

  test.each([
    'AWS::RDS::DBCluster',
    'AWS::RDS::DBInstance',
    'AWS::SageMaker::Endpoint',
    'AWS::EC2::NatGateway',
    'AWS::EC2::VPC',
  ])('no slow resource: %s', (type) => {
    template.resourceCountIs(type, 0);
  });

  test('every log group is destroyed with the stack and keeps logs for the configured days', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    for (const owner of ['Serviceingest', 'Servicepredict', 'Workflow'])
      logicalId('AWS::Logs::LogGroup', owner);
    for (const group of Object.values(groups)) {
      expect(group.DeletionPolicy).toBe('Delete');
      expect(group.Properties.RetentionInDays).toBe(environmentOf(testConfig(), 'dev').logRetentionDays);
    }
  });
});

describe('microservices', () => {
  test('the stack bundles every service and the functions of its database, models and retraining', () => {
    expect(BiomeStack.functions()).toEqual([...SERVICES, 'biome-database', 'biome-models', 'model-retrain']);
    // Without models, no retraining workflow and no function for it.
    expect(BiomeStack.functions(undefined, [])).toEqual([...SERVICES, 'biome-database', 'biome-models']);
  });

  test.each(SERVICES)(
    '%s: Node 22 on ARM, its own log group, tagged deployable, behind alias live',
    (service) => {
      const fn = logicalId('AWS::Lambda::Function', `Service${service}`);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: { Ref: logicalId('AWS::Logs::LogGroup', `Service${service}`) } },
        Tags: Match.arrayWith([{ Key: TAGS.deployable, Value: 'true' }]),
      });
      const version = logicalId('AWS::Lambda::Version', `Service${service}`);
      expect(propertiesOf(version).FunctionName).toEqual({ Ref: fn });
      template.hasResourceProperties('AWS::Lambda::Alias', {
        Name: 'live',
        FunctionName: { Ref: fn },
        FunctionVersion: { 'Fn::GetAtt': [version, 'Version'] },
      });
    },
  );

  test.each(SERVICES)('%s registers function, alias and smoke check for the deploy trigger', (service) => {
    const fn = logicalId('AWS::Lambda::Function', `Service${service}`);
    const id = logicalId('AWS::SSM::Parameter', `Service${service}Registration`);
    const props = propertiesOf(id);
    expect(props.Name).toBe(new BiomeScope('biomes', 'dev', 'alice').serviceRegistration(service));
    expect(props.Name).toBe(`/biomes/dev/alice/services/${service}`);
    expect(props.Type).toBe('String');
    expect(JSON.parse(joined(props.Value))).toEqual({
      functionName: `<Ref:${fn}>`,
      alias: 'live',
      smokeCheck: { payload: { smoke: true } },
    });
  });

  test('each service gets the settings its registry entry asks for, under the names of lambda/shared/settings.ts', () => {
    const env = (service: string) =>
      propertiesOf(logicalId('AWS::Lambda::Function', `Service${service}`)).Environment as {
        Variables: Record<string, unknown>;
      };
    const predict = env('predict').Variables;
    const pointer = modelPointerVariable('demo-scorer');
    expect(pointer).toBe('BIOMES_MODEL_POINTER_DEMO_SCORER');
    expect(Object.keys(predict).sort()).toEqual(
      [
        SERVICE_ENV.app,
        SERVICE_ENV.env,
        SERVICE_ENV.biome,
        SERVICE_ENV.dbClusterArn,
        SERVICE_ENV.dbSecretArn,
        SERVICE_ENV.dbName,
        SERVICE_ENV.endpointName,
        pointer,
      ].sort(),
    );
    expect(predict[SERVICE_ENV.biome]).toBe('alice');
    expect(predict[SERVICE_ENV.env]).toBe('dev');
    expect(predict[SERVICE_ENV.app]).toBe('biomes');
    expect(predict[SERVICE_ENV.dbName]).toBe('biome_alice');
    expect(predict[pointer]).toBe('/biomes/dev/alice/model-pointers/demo-scorer');
    // Shared coordinates come from the shared stack's SSM parameters at deploy time.
    expect(predict[SERVICE_ENV.dbClusterArn]).toEqual({
      Ref: expect.stringMatching(/^SsmParameterValuebiomesdevshareddatabaseclusterarn/),
    });
    expect(predict[SERVICE_ENV.endpointName]).toEqual({
      Ref: expect.stringMatching(/^SsmParameterValuebiomesdevsharedinferenceendpointname/),
    });
    // ingest declares a database and no model: no endpoint, no pointer.
    const ingest = env('ingest').Variables;
    expect(Object.keys(ingest).sort()).toEqual(
      [
        SERVICE_ENV.app,
        SERVICE_ENV.env,
        SERVICE_ENV.biome,
        SERVICE_ENV.dbClusterArn,
        SERVICE_ENV.dbSecretArn,
        SERVICE_ENV.dbName,
      ].sort(),
    );
  });

  test('shared resources are read from SSM parameters, never from exports', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/Fn::ImportValue/);
    template.templateMatches({
      Parameters: {
        [Object.keys(template.toJSON().Parameters).find((p) => p.includes('databaseclusterarn'))!]: {
          Type: 'AWS::SSM::Parameter::Value<String>',
          Default: '/biomes/dev/shared/database/cluster-arn',
        },
      },
    });
  });
});

describe('least privilege', () => {
  const statements = (prefix: string) => {
    const policy = logicalId('AWS::IAM::Policy', prefix);
    return (
      propertiesOf(policy).PolicyDocument as {
        Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
      }
    ).Statement;
  };

  test('predict reads only its own model pointer and the inference state, and invokes only its environment endpoint', () => {
    const s = statements('ServicepredictRole');
    const reads = s.filter((x) => [x.Action].flat().some((a) => a.startsWith('ssm:')));
    // GetParameter only (no DescribeParameters, no history), on two parameters: its model's pointer
    // and the environment's inference state (written by its endpoint owner), read to say "asleep".
    expect(reads.flatMap((x) => [x.Action].flat())).toEqual(['ssm:GetParameter']);
    const resources = reads.flatMap((x) => [x.Resource].flat()).map(joined);
    const pointer = logicalId('AWS::SSM::Parameter', 'ModelsPointerdemoscorer');
    expect(propertiesOf(pointer).Name).toBe('/biomes/dev/alice/model-pointers/demo-scorer');
    expect(resources).toHaveLength(2);
    expect(resources[0]).toMatch(new RegExp(`:parameter<Ref:${pointer}>$`));
    expect(resources[1]).toMatch(/:parameter\/biomes\/dev\/shared\/inference\/state$/);
    const invoke = s.find((x) => x.Action === 'sagemaker:InvokeEndpoint')!;
    expect(joined(invoke.Resource)).toMatch(
      /:endpoint\/<Ref:SsmParameterValuebiomesdevsharedinferenceendpointname\w+>$/,
    );
    // The endpoint serves every biome's models: alice may name only her objects of the model predict declares.
    expect(invoke.Condition).toEqual({
      StringLike: { 'sagemaker:TargetModel': [`alice/demo-scorer-${'?'.repeat(40)}.tar.gz`] },
    });
  });

  test('ingest may not read model pointers or call the endpoint', () => {
    const actions = statements('ServiceingestRole').flatMap((x) => [x.Action].flat());
    expect(actions).not.toContain('ssm:GetParameter');
    expect(actions).not.toContain('sagemaker:InvokeEndpoint');
  });

  test('no function policy grants anything on every resource but X-Ray trace submission', () => {
    for (const prefix of ['ServiceingestRole', 'ServicepredictRole']) {
      const onEverything = statements(prefix).filter((x) => JSON.stringify(x.Resource).includes('"*"'));
      // X-Ray's write actions have no resource-level permissions (the functions trace actively).
      expect(onEverything.map((x) => x.Action)).toEqual([
        ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      ]);
    }
  });

  test('the workflow may invoke exactly the two live aliases', () => {
    const invoke = statements('WorkflowStateMachineRole').find((x) => x.Action === 'lambda:InvokeFunction')!;
    expect(invoke.Resource).toEqual([
      { Ref: logicalId('AWS::Lambda::Alias', 'ServiceingestLive') },
      { Ref: logicalId('AWS::Lambda::Alias', 'ServicepredictLive') },
    ]);
  });

  test('no unacknowledged cdk-nag finding', () => {
    expect(unacknowledgedFindings(alice)).toEqual([]);
  });
});

describe('workflow', () => {
  test('logs every transition without execution data to a log group destroyed with the stack, traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: { 'Fn::GetAtt': [logicalId('AWS::Logs::LogGroup', 'Workflow'), 'Arn'] },
            },
          },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('two biomes never collide', () => {
  /** Alias `live` lives inside its function; an inline policy inside its role. */
  const SCOPED_NAMES: Record<string, string> = {
    'AWS::Lambda::Alias': 'Name',
    'AWS::IAM::Policy': 'PolicyName',
  };

  /** Every plain-string value of a property whose name ends in `Name`, with where it was found. */
  function physicalNames(t: Template): Map<string, string> {
    const names = new Map<string, string>();
    const walk = (value: unknown, where: string) => {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`));
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k.endsWith('Name') && typeof v === 'string') names.set(v, `${where}.${k}`);
          walk(v, `${where}.${k}`);
        }
      }
    };
    for (const [id, r] of Object.entries(t.toJSON().Resources as Resources)) {
      const props = { ...r.Properties };
      // Names scoped to a parent whose name CloudFormation generates cannot collide across stacks.
      const scoped = SCOPED_NAMES[r.Type];
      if (scoped) delete props[scoped];
      walk(props, id);
    }
    return names;
  }

  test('alice and bob share no physical name', () => {
    const a = physicalNames(template);
    const b = physicalNames(Template.fromStack(biomeStack('bob')));
    expect(a.size).toBeGreaterThan(0); // the registrations, at least
    const shared = [...a.keys()].filter((n) => b.has(n)).map((n) => `${n} (${a.get(n)})`);
    expect(shared).toEqual([]);
  });
});

describe('bad input fails synth with what to do', () => {
  test('a biome without the model predict declares', () => {
    expect(
      () =>
        new BiomeStack(testApp(), 'biomes-dev-carol', {
          config: testConfig(),
          envName: 'dev',
          biome: 'carol',
          models: [],
        }),
    ).toThrow(
      /SERVICES\.predict\.models: "demo-scorer" is not a model of the repository \(models\/demo-scorer\/ does not exist/,
    );
  });

  test('model folders are discovered, and a folder off the artifact grammar is refused', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'models-'));
    fs.mkdirSync(path.join(root, 'demo-scorer'));
    fs.mkdirSync(path.join(root, 'churn-v2'));
    fs.writeFileSync(path.join(root, 'README.md'), '');
    expect(discoverModels(root)).toEqual(['churn-v2', 'demo-scorer']);
    fs.mkdirSync(path.join(root, 'Bad_Model'));
    expect(() => discoverModels(root)).toThrow(
      /models\/Bad_Model\/: name "Bad_Model" must match .*rename the folder/,
    );
    expect(discoverModels(path.join(root, 'missing'))).toEqual([]);
  });
});

describe('who puts code live', () => {
  test('a sandpit runs the code CDK bundled: live follows the current version (cdk deploy, --hotswap)', () => {
    for (const id of Object.keys(template.findResources('AWS::Lambda::Function')).filter((i) =>
      i.startsWith('Service'),
    )) {
      expect((propertiesOf(id).Code as Record<string, unknown>).S3Key).toBeDefined();
    }
    expect(
      Object.keys(template.findResources('AWS::Lambda::Version')).some((i) => i.includes('CurrentVersion')),
    ).toBe(true);
  });

  test('main runs only what the pipeline released: a fixed bootstrap CloudFormation never changes', () => {
    const main = Template.fromStack(biomeStack('main', 'staging'));
    const fns = main.findResources('AWS::Lambda::Function');
    const services = Object.entries(fns).filter(([id]) => id.startsWith('Service'));
    expect(services).toHaveLength(SERVICES.length);
    for (const [, fn] of services) {
      const code = fn.Properties.Code as { ZipFile?: string };
      expect(code.ZipFile).toMatch(/No release of service \w+ is live in this biome yet/);
    }
    const versions = Object.keys(main.findResources('AWS::Lambda::Version'));
    expect(versions.every((id) => id.includes('Bootstrap'))).toBe(true);
    // The same synth twice gives the same bootstrap (no code change, so no reset of what is live).
    const again = Template.fromStack(biomeStack('main', 'staging')).findResources('AWS::Lambda::Function');
    for (const [id, fn] of services) expect(again[id]?.Properties.Code).toEqual(fn.Properties.Code);
  });

  test('the bootstrap refuses calls with what to do, and fails its smoke check', async () => {
    const mod: { exports: { handler?: (e: unknown) => Promise<unknown> } } = { exports: {} };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- runs the inline source CloudFormation deploys, wrapped as Lambda's CommonJS loader does
    new Function('exports', 'module', bootstrapCode('ingest'))(mod.exports, mod);
    await expect(mod.exports.handler!({ smoke: true })).resolves.toMatchObject({ ok: false });
    await expect(mod.exports.handler!({ sampleId: 's' })).rejects.toThrow(/push to the release branch/);
  });
});

describe('teardown order and shared account limits', () => {
  test('the workflow logs under /aws/vendedlogs/ (no account-wide resource policy growth per biome)', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/biomes-dev-alice-workflow',
    });
  });

  test("model registrations and pointers are deleted before the cleanup empties the biome's prefix", () => {
    const cleanup = logicalId('Custom::BiomeModels', 'Models');
    for (const [id, r] of Object.entries(template.findResources('AWS::SSM::Parameter'))) {
      if (id.startsWith('ModelsRegistration') || id.startsWith('ModelsPointer')) {
        expect(r.DependsOn).toEqual(expect.arrayContaining([cleanup]));
      }
    }
  });
});
