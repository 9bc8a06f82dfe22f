import { ConfigError, configFromContext, parseConfig, parseSelection } from '../lib/config';
import { rawPlaceholderConfig } from './fixtures/config';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function withChange(change: (raw: Raw) => void): Raw {
  const raw = rawPlaceholderConfig() as Raw;
  change(raw);
  return raw;
}

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  test('the placeholders of cdk.json are a valid config', () => {
    const config = parseConfig(rawPlaceholderConfig());
    expect(config.appName).toBe('biomes');
    expect(config.accounts.devops).toMatch(/^\d{12}$/);
    expect(config.environments.dev.database.minCapacity).toBe(0);
    expect(config.notifications.email).toBeUndefined();
  });

  test.each([
    [
      'accounts.dev',
      (r: Raw) => (r.accounts.dev = '12345'),
      /biomes\.accounts\.dev: must be a 12-digit AWS account id/,
    ],
    [
      'accounts.prod',
      (r: Raw) => (r.accounts.prod = 444444444444),
      /biomes\.accounts\.prod: .*expected string/i,
    ],
    ['region', (r: Raw) => (r.region = 'Ireland'), /biomes\.region: must be an AWS region code/],
    ['appName', (r: Raw) => (r.appName = 'Biomes_App'), /biomes\.appName: must be 3-16 lowercase/],
    ['source missing', (r: Raw) => delete r.source, /biomes\.source: .*expected object/i],
    [
      'source.connectionArn',
      (r: Raw) => (r.source.connectionArn = 'not-an-arn'),
      /biomes\.source\.connectionArn: must be the ARN/,
    ],
    [
      'source.repository',
      (r: Raw) => (r.source.repository = 'no-slash'),
      /biomes\.source\.repository: must be/,
    ],
    ['source.provider', (r: Raw) => (r.source.provider = 'Gitea'), /biomes\.source\.provider/],
    [
      'environments.staging missing',
      (r: Raw) => delete r.environments.staging,
      /biomes\.environments\.staging/,
    ],
    [
      'database capacity order',
      (r: Raw) => (r.environments.dev.database.maxCapacity = 0.5),
      /biomes\.environments\.dev\.database\.maxCapacity/,
    ],
    [
      'prod must not pause',
      (r: Raw) => (r.environments.prod.database.minCapacity = 0),
      /biomes\.environments\.prod\.database\.minCapacity: must be at least 0\.5 in prod/,
    ],
    [
      'instance type',
      (r: Raw) => (r.environments.dev.inference.instanceType = 'm5.large'),
      /biomes\.environments\.dev\.inference\.instanceType: must be a SageMaker instance type/,
    ],
    [
      'notification email',
      (r: Raw) => (r.notifications.email = 'ops-at-example'),
      /biomes\.notifications\.email/,
    ],
    [
      'log retention',
      (r: Raw) => (r.environments.staging.logRetentionDays = 10),
      /biomes\.environments\.staging\.logRetentionDays: must be a CloudWatch Logs retention period: 1, 3, 5/,
    ],
  ])('a bad %s fails naming the key and the rule', (_what, change, message) => {
    expect(configError(withChange(change))).toMatch(message);
  });

  test('a missing config object says where it belongs', () => {
    expect(configError(undefined)).toMatch(/context key "biomes"/);
  });

  test('several bad values are all reported at once', () => {
    const message = configError(
      withChange((r) => {
        r.accounts.dev = 'x';
        r.region = 'y';
      }),
    );
    expect(message).toMatch(/accounts\.dev/);
    expect(message).toMatch(/region/);
  });
});

describe('selection (-c biome, -c env)', () => {
  test('no biome selects the whole app', () => {
    expect(parseSelection(undefined, undefined)).toEqual({ kind: 'all' });
  });

  test('a biome defaults to dev', () => {
    expect(parseSelection('alice', undefined)).toEqual({ kind: 'biome', env: 'dev', biome: 'alice' });
    expect(parseSelection('alice', 'staging')).toEqual({ kind: 'biome', env: 'staging', biome: 'alice' });
  });

  test('main may be selected in any environment, including prod', () => {
    expect(parseSelection('main', 'prod')).toEqual({ kind: 'biome', env: 'prod', biome: 'main' });
  });

  test.each([
    ['Alice', /must match/],
    ['a', /2-20 characters/],
    ['a-very-long-biome-name-x', /2-20 characters/],
    ['alice-', /must match/],
    ['1alice', /must match/],
    ['al--ice', /must not contain "--"/],
    ['al_ice', /must match/],
    ['shared', /reserved/],
    ['devops', /reserved/],
    ['dev', /reserved/],
    ['staging', /reserved/],
    ['prod', /reserved/],
    ['test', /reserved/],
    ['default', /reserved/],
  ])('biome %s is refused with the rule', (biome, rule) => {
    expect(() => parseSelection(biome, undefined)).toThrow(ConfigError);
    expect(() => parseSelection(biome, undefined)).toThrow(rule);
    expect(() => parseSelection(biome, undefined)).toThrow(/-c biome/);
  });

  test('an unknown env is refused', () => {
    expect(() => parseSelection('alice', 'qa')).toThrow(
      /-c env: "qa" is not an environment; use one of dev, staging, prod/,
    );
  });

  test('sandpits are refused in prod', () => {
    expect(() => parseSelection('alice', 'prod')).toThrow(/prod hosts the "main" biome only/);
  });

  test('env without biome is refused rather than ignored', () => {
    expect(() => parseSelection(undefined, 'staging')).toThrow(/needs -c biome=<name>/);
  });

  test('configFromContext reads config, biome and env', () => {
    const context: Record<string, unknown> = { biomes: rawPlaceholderConfig(), biome: 'bob', env: 'dev' };
    const { config, selection } = configFromContext((k) => context[k]);
    expect(config.region).toBe('eu-west-1');
    expect(selection).toEqual({ kind: 'biome', env: 'dev', biome: 'bob' });
  });
});
