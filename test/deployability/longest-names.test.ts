/**
 * Names CloudFormation passes to services that refuse a bad one, for the longest inputs the config
 * accepts (lib/config.ts: appName 3-16, environment 2-8, biome 2-20 characters) and the longest
 * region name the default image knows; and the two inputs the config accepts whose derived names a
 * service refuses (docs/deployability.md "Real problems"). One shared stack and one sandpit stack,
 * synthesized once.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { BiomeScope, EnvScope } from '../../lambda/shared/scope';
import { buildApp } from '../../lib/app';
import { type BiomesConfig, environmentOf, parseConfig } from '../../lib/config';
import { PINNED_LOGICAL_IDS } from '../../lib/workload/shared/logical-ids';
import { SKLEARN_REGISTRY_ACCOUNTS } from '../../lib/workload/shared/inference-image';
import { SharedStack } from '../../lib/workload/shared/shared-stack';
import { rawPlaceholderConfig, testApp, sandpitSelection } from '../fixtures/config';
import {
  type CfnTemplate,
  rdsClusterIdentifierProblem,
  resourcesOf,
  s3BucketNameProblem,
  SAGEMAKER_NAME,
} from './template';

const APP = 'a2345678901234z9'; // 16
const ENV = 'e2345678'; // 8
const BIOME = 'b234567890-23456789z'; // 20
const REGION = Object.keys(SKLEARN_REGISTRY_ACCOUNTS).reduce((a, b) => (b.length > a.length ? b : a));

/** The placeholder config with `dev` renamed `env` and a different app name and region. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the raw config is untyped JSON
function rawWith(appName: string, env = 'dev'): any {
  const raw = rawPlaceholderConfig() as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  raw.appName = appName;
  raw.region = REGION;
  raw.source.connectionArn = raw.source.connectionArn.replace('eu-west-1', REGION);
  if (env !== 'dev') {
    raw.promotion[0].env = env;
    raw.accounts[env] = raw.accounts.dev;
    delete raw.accounts.dev;
    raw.environments[env] = raw.environments.dev;
    delete raw.environments.dev;
  }
  return raw;
}

let config: BiomesConfig;
let shared: CfnTemplate;
let biome: CfnTemplate;
const props = (r: { Properties?: Record<string, unknown> } | undefined) =>
  (r?.Properties ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(() => {
  config = parseConfig(rawWith(APP, ENV));
  const names = new EnvScope(APP, ENV);
  const stack = new SharedStack(testApp(), names.sharedStackName, {
    stackName: names.sharedStackName,
    config,
    envName: ENV,
    env: { account: environmentOf(config, ENV).account, region: REGION },
  });
  shared = Template.fromStack(stack).toJSON() as CfnTemplate;
  const built = buildApp(testApp(), config, sandpitSelection(BIOME, ENV));
  biome = Template.fromStack(built.biomes[0]!).toJSON() as CfnTemplate;
}, 60_000);

describe(`the longest inputs: app ${APP}, environment ${ENV}, biome ${BIOME}, region ${REGION}`, () => {
  test('are inputs the config accepts', () => {
    expect(APP).toHaveLength(16);
    expect(ENV).toHaveLength(8);
    expect(BIOME).toHaveLength(20);
    expect(environmentOf(config, ENV).name).toBe(ENV);
    expect(new BiomeScope(APP, ENV, BIOME).stackName).toBe(`${APP}-${ENV}-${BIOME}`);
  });

  test('the Aurora cluster identifier follows the RDS rules, and its log group is named after it', () => {
    const id = String(props(shared.Resources[PINNED_LOGICAL_IDS.databaseCluster]).DBClusterIdentifier);
    expect(rdsClusterIdentifierProblem(id)).toBeUndefined();
    const logGroups = resourcesOf(shared, 'AWS::Logs::LogGroup').map(([, g]) => props(g).LogGroupName);
    expect(logGroups).toContain(`/aws/rds/cluster/${id}/postgresql`);
  });

  test('the endpoint name follows SageMaker’s pattern (at most 63)', () => {
    const [[, endpoint]] = resourcesOf(shared, 'Custom::InferenceEndpoint') as [[string, never]];
    expect(String(props(endpoint).EndpointName)).toMatch(SAGEMAKER_NAME);
  });

  test('the landing bucket name follows the S3 naming rules', () => {
    const name = String(props(shared.Resources[PINNED_LOGICAL_IDS.landingBucket]).BucketName);
    expect(name).toBe(new EnvScope(APP, ENV).landingBucketName(environmentOf(config, ENV).account, REGION));
    expect(s3BucketNameProblem(name)).toBeUndefined();
  });

  test('the landing key alias is one KMS accepts (alias/ + letters, digits, / _ -, not alias/aws/)', () => {
    const aliases = resourcesOf(shared, 'AWS::KMS::Alias').map(([, a]) => String(props(a).AliasName));
    expect(aliases).toEqual([new EnvScope(APP, ENV).landingKeyAlias]);
    for (const alias of aliases) {
      expect(alias).toMatch(/^alias\/[a-zA-Z0-9/_-]{1,250}$/);
      expect(alias.startsWith('alias/aws/')).toBe(false);
    }
  });

  test('stack names: at most 128, a letter then letters, digits and hyphens', () => {
    for (const name of [new EnvScope(APP, ENV).sharedStackName, new BiomeScope(APP, ENV, BIOME).stackName]) {
      expect(name).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,127}$/);
    }
  });

  test('named IAM roles stay within 64 characters (the release verifier of main)', () => {
    expect(new EnvScope(APP, ENV).releaseVerifyRoleName.length).toBeLessThanOrEqual(64);
    for (const t of [shared, biome]) {
      for (const [, role] of resourcesOf(t, 'AWS::IAM::Role')) {
        const roleName = props(role).RoleName;
        if (roleName !== undefined) expect(String(roleName).length).toBeLessThanOrEqual(64);
      }
    }
  });

  test('SSM parameter names: at most 15 levels and well under the 1011 characters of a full ARN', () => {
    for (const t of [shared, biome]) {
      for (const [, p] of resourcesOf(t, 'AWS::SSM::Parameter')) {
        const name = String(props(p).Name);
        expect(name).toMatch(/^(\/[a-zA-Z0-9_.-]+)+$/);
        expect(name.split('/').length - 1).toBeLessThanOrEqual(15);
        expect(name.length).toBeLessThan(900);
      }
    }
  });

  test('log group names: at most 512 characters of the CloudWatch Logs alphabet', () => {
    for (const t of [shared, biome]) {
      for (const [, g] of resourcesOf(t, 'AWS::Logs::LogGroup')) {
        const raw = props(g).LogGroupName;
        // A provider's default group (lib/common/logs.ts ownProviderLogGroups): `/aws/lambda/` and a
        // name CloudFormation generates, at most 64 characters of [A-Za-z0-9_-] (Lambda's rule).
        const join = (raw as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
        const name = join ? `${String(join[1][0])}${'x'.repeat(64)}` : raw;
        if (name !== undefined) expect(String(name)).toMatch(/^[.\-_/#A-Za-z0-9]{1,512}$/);
      }
    }
  });

  test("the biome's database and role are PostgreSQL identifiers (at most 63 bytes)", () => {
    const { database, role } = new BiomeScope(APP, ENV, BIOME).database;
    for (const identifier of [database, role]) expect(identifier).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
  });

  test('function names (the endpoint owner is the one named function) stay within the 64 characters Lambda allows', () => {
    const names = resourcesOf(shared, 'AWS::Lambda::Function').flatMap(([, fn]) =>
      props(fn).FunctionName === undefined ? [] : [String(props(fn).FunctionName)],
    );
    expect(names).toEqual([new EnvScope(APP, ENV).inferenceEndpointFunctionName]);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
  });

  test('function descriptions stay within the 256 characters Lambda allows', () => {
    for (const t of [shared, biome]) {
      for (const [, fn] of resourcesOf(t, 'AWS::Lambda::Function')) {
        expect(String(props(fn).Description ?? '').length).toBeLessThanOrEqual(256);
      }
    }
  });
});

describe('app names a service would refuse are refused by the config (lib/config.ts appName)', () => {
  // The derived names (lambda/shared/scope.ts EnvScope) carry the app name into the cluster
  // identifier (no "--" for RDS) and the landing bucket name (S3's reserved prefixes).
  test.each([
    ['ab--cd', /two hyphens in a row/],
    ['xn--ab', /two hyphens in a row/],
    ['sthree-ab', /must not start with .*"sthree-"/],
    ['amzn-s3-demo-ab', /must not start with .*"amzn-s3-demo-"/],
    ['sthree', /nor be "sthree"/],
    ['amzn-s3-demo', /nor be .*"amzn-s3-demo"/],
  ])('"%s" is refused, saying why', (appName, message) => {
    expect(() => parseConfig(rawWith(appName))).toThrow(message);
  });

  test('every app name the config accepts gives an Aurora cluster identifier and a landing bucket name AWS accepts', () => {
    for (const name of ['ab-cd', 'a1b', 'sthreeab', 'xn-ab', 'amzn-s3']) {
      const c = parseConfig(rawWith(name));
      const dev = environmentOf(c, 'dev');
      const scope = new EnvScope(c.appName, 'dev');
      expect(rdsClusterIdentifierProblem(scope.databaseClusterIdentifier)).toBeUndefined();
      expect(s3BucketNameProblem(scope.landingBucketName(dev.account, REGION))).toBeUndefined();
    }
  });
});
