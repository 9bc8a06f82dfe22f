/**
 * "Adding a microservice is a folder lambda/<name>/ and one registry entry" (README), proven on a
 * copy of the repository with a fixture service added exactly that way: its folder and one entry in the
 * copy's lambda/services.ts, which the app and `npm run package` then read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SERVICES, type ServiceRegistry } from '../../../lambda/services';
import { runTs } from '../../fixtures/scripts';
import { TAGS } from '../../../lambda/shared/contracts';
import { modelPointerVariable, SERVICE_ENV } from '../../../lambda/shared/settings';
import { buildApp } from '../../../lib/app';
import { LambdaBundles } from '../../../lib/bundling/bundler';
import { REPO_ROOT } from '../../../lib/repo';
import { MANIFEST_FILE, type Manifest } from '../../../lib/bundling/package';
import { BiomeStack } from '../../../lib/workload/biome/biome-stack';
import { SharedStack } from '../../../lib/workload/shared/shared-stack';
import {
  biomeFunctions,
  checkServiceRegistry,
  INFRASTRUCTURE_FUNCTIONS,
  retryableErrors,
  ServiceRegistryError,
} from '../../../lib/workload/biome/service-registry';
import { testApp, testConfig, unacknowledgedFindings, sandpitSelection } from '../../fixtures/config';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';

/** The fixture service: reads its settings the way every service does, answers the smoke check. */
const SCORE_HANDLER = `import { databaseSettings, serviceIdentity } from '../shared/settings';
export const handler = async (event: unknown) => {
  const identity = serviceIdentity(process.env);
  databaseSettings(process.env);
  if (JSON.stringify(event) === '{"smoke":true}') return { ok: true };
  return { biome: identity.biome, threshold: process.env.SCORE_THRESHOLD };
};
`;

/** Named so that no service a user adds by the README's steps (its example is `score`) collides. */
const FIXTURE = 'fixture-scorer';
/** The registry entry, as README "Adding a microservice" step 2 writes it. */
const ENTRY = `'${FIXTURE}': { database: true, models: ['demo-scorer'], environment: { SCORE_THRESHOLD: '0.5' }, retryableErrors: ['ScoreBusy'] },`;
/** Its resources' logical ids: the construct id `Service-<name>` without its hyphens. */
const LOGICAL_PREFIX = `Service${FIXTURE.replaceAll('-', '')}`;

let root: string;
beforeAll(() => {
  // A copy of the repository's lambda/ and models/, with the service added as a user would add it.
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-registry-'));
  fs.cpSync(path.join(REPO_ROOT, 'lambda'), path.join(root, 'lambda'), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'models'), path.join(root, 'models'), { recursive: true });
  fs.mkdirSync(path.join(root, 'lambda', FIXTURE));
  fs.writeFileSync(path.join(root, 'lambda', FIXTURE, 'handler.ts'), SCORE_HANDLER);
  const registryFile = path.join(root, 'lambda', 'services.ts');
  const source = fs.readFileSync(registryFile, 'utf8');
  expect(source).toContain('export const SERVICES = {');
  fs.writeFileSync(
    registryFile,
    source.replace('export const SERVICES = {', `export const SERVICES = {\n  ${ENTRY}`),
  );
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The registry of the copy, as the app would import it. */
function copiedRegistry(): ServiceRegistry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the copy's file, loaded as the app loads its own
  return (require(path.join(root, 'lambda', 'services.ts')) as { SERVICES: ServiceRegistry }).SERVICES;
}

describe('a fixture service added to the registry', () => {
  let services: ServiceRegistry;
  let built: ReturnType<typeof buildApp>;
  let app: ReturnType<typeof testApp>;
  beforeAll(() => {
    services = copiedRegistry();
    expect(Object.keys(services)).toEqual([FIXTURE, ...Object.keys(SERVICES)]);
    app = testApp();
    built = buildApp(app, testConfig(), { kind: 'all' }, { services, bundles: new LambdaBundles({ root }) });
  });

  test('is bundled with the biome functions', () => {
    expect(biomeFunctions(services, ['demo-scorer'])).toEqual([
      FIXTURE,
      ...Object.keys(SERVICES),
      'biome-database',
      'biome-models',
      'model-retrain',
    ]);
  });

  test('every biome stack gets its function, alias live, registration, log group and grants', () => {
    expect(built.biomes.map((b) => b.stackName).sort()).toEqual([
      'biomes-dev-main',
      'biomes-prod-main',
      'biomes-staging-main',
    ]);
    for (const stack of built.biomes) {
      const { env, biome } = stack.names;
      const template = Template.fromStack(stack);
      const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const ids = (type: string) =>
        Object.entries(resources)
          .filter(([id, r]) => r.Type === type && id.startsWith(LOGICAL_PREFIX))
          .map(([id]) => id);

      const [fn] = ids('AWS::Lambda::Function');
      const [logGroup] = ids('AWS::Logs::LogGroup');
      expect(fn).toBeDefined();
      expect(logGroup).toBeDefined();
      template.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: { LogGroup: { Ref: logGroup } },
        Tags: Match.arrayWith([{ Key: TAGS.deployable, Value: 'true' }]),
        Environment: {
          Variables: Match.objectLike({
            [SERVICE_ENV.biome]: biome,
            [SERVICE_ENV.env]: env,
            [SERVICE_ENV.dbName]: `biome_${biome}`,
            [modelPointerVariable('demo-scorer')]: `/biomes/${env}/${biome}/model-pointers/demo-scorer`,
            SCORE_THRESHOLD: '0.5',
          }),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', FunctionName: { Ref: fn } });
      template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/biomes/${env}/${biome}/services/${FIXTURE}`,
      });

      const [policy] = ids('AWS::IAM::Policy');
      const statements = JSON.stringify(resources[policy!]!.Properties.PolicyDocument);
      expect(statements).toContain('rds-data:ExecuteStatement');
      expect(statements).toContain('secretsmanager:GetSecretValue');
      expect(statements).toContain('ssm:GetParameter');
      expect(statements).toContain(
        `"sagemaker:TargetModel":["${biome}/demo-scorer-${'?'.repeat(40)}.tar.gz"]`,
      );
    }
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  test('a sandpit gets it too, with the code bundled from the fixture folder', () => {
    const sandpitApp = testApp();
    const sandpit = buildApp(sandpitApp, testConfig(), sandpitSelection('alice'), {
      services,
      bundles: new LambdaBundles({ root }),
    });
    const template = Template.fromStack(sandpit.biomes[0]!);
    const fns = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) =>
      id.startsWith(LOGICAL_PREFIX),
    );
    expect(fns).toHaveLength(1);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: `/biomes/dev/alice/services/${FIXTURE}` });
  });

  test("the workflow's retry list comes from the registry entries of the services it calls", () => {
    expect(retryableErrors(services, ['ingest', 'predict'])).toEqual(['DatabaseResuming', 'ModelNotReady']);
    expect(retryableErrors(services, ['ingest', FIXTURE])).toEqual(['DatabaseResuming', 'ScoreBusy']);
  });
});

test('npm run package emits <name>-<sha>.zip for a service added to lambda/services.ts', () => {
  const out = path.join(root, 'dist');
  // The build's SBOM reads the lockfile of the repository it packages.
  fs.writeFileSync(path.join(root, 'package.json'), '{"name": "fixture", "version": "1.0.0"}\n');
  fs.writeFileSync(
    path.join(root, 'package-lock.json'),
    '{"name": "fixture", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "fixture", "version": "1.0.0"}}}\n',
  );
  const run = runTs('scripts/package.ts', ['--sha', SHA, '--root', root, '--out', out], { cwd: REPO_ROOT });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(fs.existsSync(path.join(out, `${FIXTURE}-${SHA}.zip`))).toBe(true);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_FILE), 'utf8')) as Manifest;
  expect(manifest.artifacts.filter((a) => a.kind === 'service').map((a) => a.name)).toEqual(
    [FIXTURE, ...Object.keys(SERVICES)].sort(),
  );
});

test('a bad entry fails the app build (cdk synth) with the key and the rule, before anything is bundled', () => {
  const bundles = new LambdaBundles({ root });
  const prepare = jest.spyOn(bundles, 'prepare');
  for (const selection of [{ kind: 'all' } as const, sandpitSelection('alice')]) {
    expect(() =>
      buildApp(testApp(), testConfig(), selection, { services: { ...SERVICES, ghost: {} }, bundles }),
    ).toThrow(/SERVICES\.ghost: lambda\/ghost\/handler\.ts does not exist/);
  }
  expect(prepare).not.toHaveBeenCalled();
});

test('every folder under lambda/ is a service of the registry or an infrastructure function', () => {
  const folders = fs
    .readdirSync(path.join(REPO_ROOT, 'lambda'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  expect(folders.sort()).toEqual([...Object.keys(SERVICES), ...INFRASTRUCTURE_FUNCTIONS].sort());
  const infrastructure = [...SharedStack.FUNCTIONS, ...BiomeStack.functions()].filter(
    (f) => !(f in SERVICES),
  );
  expect(INFRASTRUCTURE_FUNCTIONS).toEqual(expect.arrayContaining(infrastructure));
});

describe('a bad registry entry fails synth with the key and the rule', () => {
  const context = { lambdaRoot: path.join(REPO_ROOT, 'lambda'), models: ['demo-scorer'] };
  const problems = (registry: ServiceRegistry): string => {
    try {
      checkServiceRegistry(registry, context);
    } catch (e) {
      expect(e).toBeInstanceOf(ServiceRegistryError);
      return (e as Error).message;
    }
    throw new Error('expected a ServiceRegistryError');
  };

  test.each<[string, ServiceRegistry, RegExp]>([
    [
      'a folder that does not exist',
      { ghost: {} },
      /SERVICES\.ghost: lambda\/ghost\/handler\.ts does not exist/,
    ],
    [
      'a model not under models/',
      { ingest: { models: ['churn'] } },
      /SERVICES\.ingest\.models: "churn" is not a model of the repository \(models\/churn\/ does not exist; models: demo-scorer\)/,
    ],
    [
      'a name off the artifact grammar',
      { Score_1: {} },
      /SERVICES\.Score_1: service name "Score_1" must match/,
    ],
    [
      'an infrastructure function of the shared stack',
      { 'sandpit-sweeper': {} },
      /SERVICES\.sandpit-sweeper: lambda\/sandpit-sweeper\/ is an infrastructure function, not a service/,
    ],
    [
      'an infrastructure function',
      { 'deploy-trigger': {} },
      /SERVICES\.deploy-trigger: lambda\/deploy-trigger\/ is an infrastructure function, not a service/,
    ],
    [
      'a variable the stack sets itself',
      { ingest: { environment: { BIOMES_DB_NAME: 'x' } } },
      /SERVICES\.ingest\.environment\.BIOMES_DB_NAME: names starting with BIOMES_ or AWS_ are set by the biome stack/,
    ],
    [
      'a variable name off the grammar',
      { ingest: { environment: { 'bad-name': 'x' } } },
      /SERVICES\.ingest\.environment\.bad-name: must be an environment variable name/,
    ],
    [
      'a memory size Lambda refuses',
      { ingest: { memorySize: 64 } },
      /SERVICES\.ingest\.memorySize: must be a whole number of MB from 128 to 10240/,
    ],
    [
      'a timeout Lambda refuses',
      { ingest: { timeoutSeconds: 901 } },
      /SERVICES\.ingest\.timeoutSeconds: must be a whole number of seconds from 1 to 900/,
    ],
    ['no service at all', {}, /SERVICES: declares no service/],
  ])('%s', (_what, registry, message) => {
    expect(problems(registry)).toMatch(message);
    expect(problems(registry)).toMatch(/^Invalid service registry \(lambda\/services\.ts\):/);
  });

  test('the registry of the repository is valid', () => {
    expect(() => checkServiceRegistry(SERVICES, context)).not.toThrow();
  });
});
