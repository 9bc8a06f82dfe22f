import {
  CODEBUILD_MAX_TIMEOUT_MINUTES,
  ConfigError,
  configFromContext,
  environmentOf,
  firstEnvironment,
  parseConfig,
  parseSelection,
  releaseWaitMinutes,
  VERIFY_MARGIN_MINUTES,
} from '../lib/config';
import { rawPlaceholderConfig, testConfig } from './fixtures/config';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function withChange(change: (raw: Raw) => void): Raw {
  const raw = rawPlaceholderConfig() as Raw;
  change(raw);
  return raw;
}

/** The placeholder config with a fourth environment, qa, between dev and staging (as README "Adding an environment"). */
function withQa(): Raw {
  return withChange((r) => {
    r.promotion.splice(1, 0, { env: 'qa', approvalBefore: true });
    r.accounts.qa = '555555555555';
    r.environments.qa = structuredClone(r.environments.staging);
  });
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
    expect(config.devopsAccount).toMatch(/^\d{12}$/);
    expect(environmentOf(config, 'dev').database.minCapacity).toBe(0);
    expect(config.notifications.email).toBeUndefined();
  });

  test('dev and staging sleep outside weekday hours, prod is always on; training defaults to ml.m5.large', () => {
    const config = testConfig();
    expect(environmentOf(config, 'dev').inference.schedule).toMatchObject({ wake: '07:00', sleep: '19:00' });
    expect(environmentOf(config, 'staging').inference.schedule?.days).toEqual([
      'MON',
      'TUE',
      'WED',
      'THU',
      'FRI',
    ]);
    expect(environmentOf(config, 'prod').inference.schedule).toBeUndefined();
    expect(environmentOf(config, 'prod').training.instanceType).toBe('ml.m5.large');
  });

  test('canary: prod on (10% for 10 minutes), dev and staging off; a protected environment without one gets the default, `false` turns it off', () => {
    const config = testConfig();
    expect(environmentOf(config, 'prod').canary).toEqual({ percent: 10, bakeMinutes: 10 });
    expect(environmentOf(config, 'dev').canary).toBeUndefined();
    expect(environmentOf(config, 'staging').canary).toBeUndefined();
    const unset = parseConfig(withChange((raw) => delete raw.environments.prod.canary));
    expect(environmentOf(unset, 'prod').canary).toEqual({ percent: 10, bakeMinutes: 10 });
    const off = parseConfig(withChange((raw) => (raw.environments.prod.canary = false)));
    expect(environmentOf(off, 'prod').canary).toBeUndefined();
  });

  test('a canary outside what CodeDeploy accepts is refused with the key and the bounds', () => {
    expect(
      configError(withChange((raw) => (raw.environments.prod.canary = { percent: 100, bakeMinutes: 10 }))),
    ).toMatch(/environments\.prod\.canary\.percent.*99/);
    expect(
      configError(withChange((raw) => (raw.environments.dev.canary = { percent: 10, bakeMinutes: 0 }))),
    ).toMatch(/environments\.dev\.canary\.bakeMinutes/);
    expect(configError(withChange((raw) => (raw.environments.dev.canary = { percent: 10 })))).toMatch(
      /environments\.dev\.canary/,
    );
  });

  test("a verify wait plus a canary's bake beyond one CodeBuild build (36 hours) is refused with the key and the bound", () => {
    const long = (raw: Raw) => {
      raw.environments.prod.verifyTimeoutMinutes = 480;
      raw.environments.prod.canary = { percent: 10, bakeMinutes: 1666 };
    };
    expect(configError(withChange(long))).toMatch(
      /environments\.prod\.canary: verifyTimeoutMinutes plus canary\.bakeMinutes is 2146; it must be at most 2145: .*2160 minutes/,
    );
    // At the bound it is accepted, and the verify project's build may run exactly CodeBuild's longest.
    const atBound = parseConfig(
      withChange((raw) => {
        long(raw);
        raw.environments.prod.canary.bakeMinutes = 1665;
      }),
    );
    expect(releaseWaitMinutes(environmentOf(atBound, 'prod')) + VERIFY_MARGIN_MINUTES).toBe(
      CODEBUILD_MAX_TIMEOUT_MINUTES,
    );
  });

  test('environments come in promotion order, with their approvals, protection and accounts', () => {
    const config = parseConfig(rawPlaceholderConfig());
    expect(
      config.environments.map((e) => [e.name, e.index, e.approvalBefore, e.protected, e.account]),
    ).toEqual([
      ['dev', 0, false, false, '222222222222'],
      ['staging', 1, true, false, '333333333333'],
      ['prod', 2, true, true, '444444444444'],
    ]);
    expect(firstEnvironment(config).name).toBe('dev');
    expect(() => environmentOf(config, 'qa')).toThrow(
      /"qa" is not an environment; use one of dev, staging, prod/,
    );
  });

  test('a fourth environment is a promotion entry and its values, nothing else', () => {
    const config = parseConfig(withQa());
    expect(config.environments.map((e) => e.name)).toEqual(['dev', 'qa', 'staging', 'prod']);
    expect(environmentOf(config, 'qa')).toMatchObject({
      account: '555555555555',
      approvalBefore: true,
      protected: false,
    });
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
    [
      'inference.schedule.timeZone',
      (r: Raw) => (r.environments.dev.inference.schedule.timeZone = 'London'),
      /biomes\.environments\.dev\.inference\.schedule\.timeZone: must be an IANA time zone/,
    ],
    [
      'inference.schedule wake after sleep',
      (r: Raw) => (r.environments.staging.inference.schedule.wake = '20:00'),
      /biomes\.environments\.staging\.inference\.schedule: wake must be before sleep/,
    ],
    [
      'training.instanceType',
      (r: Raw) => (r.environments.dev.training = { instanceType: 'm5.large' }),
      /biomes\.environments\.dev\.training\.instanceType: must be a SageMaker instance type/,
    ],
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
      /biomes\.environments\.staging: missing: every environment in promotion needs its values here/,
    ],
    [
      'accounts.staging missing',
      (r: Raw) => delete r.accounts.staging,
      /biomes\.accounts\.staging: missing: every environment in promotion needs its account id here/,
    ],
    [
      'accounts.devops missing',
      (r: Raw) => delete r.accounts.devops,
      /biomes\.accounts\.devops: missing: the account id of the DevOps account/,
    ],
    [
      'an environment listed twice',
      (r: Raw) => r.promotion.push({ env: 'staging' }),
      /biomes\.promotion\.3\.env: "staging" is listed twice/,
    ],
    [
      'a protected environment before an unprotected one',
      (r: Raw) => {
        r.promotion.splice(1, 0, { env: 'qa', protected: true });
        r.accounts.qa = '555555555555';
        r.environments.qa = structuredClone(r.environments.prod);
      },
      /biomes\.promotion\.2\.protected: "staging" is unprotected but comes after the protected "qa"/,
    ],
    [
      'values of an environment not in promotion',
      (r: Raw) => (r.environments.qa = structuredClone(r.environments.dev)),
      /biomes\.environments\.qa: "qa" is not an environment of promotion \(dev, staging, prod\)/,
    ],
    [
      'an account of an environment not in promotion',
      (r: Raw) => (r.accounts.qa = '555555555555'),
      /biomes\.accounts\.qa: "qa" is not an environment of promotion/,
    ],
    [
      'an environment name off the grammar',
      (r: Raw) => (r.promotion[0].env = 'Dev-1'),
      /biomes\.promotion\.0\.env: "Dev-1" must match/,
    ],
    [
      'the reserved environment name devops',
      (r: Raw) => (r.promotion[0].env = 'devops'),
      /biomes\.promotion\.0\.env: "devops" is reserved/,
    ],
    [
      'a protected first environment',
      (r: Raw) => (r.promotion[0].protected = true),
      /biomes\.promotion\.0\.protected: the first environment receives every build/,
    ],
    [
      'an approval before the first environment',
      (r: Raw) => (r.promotion[0].approvalBefore = true),
      /biomes\.promotion\.0\.approvalBefore: the first environment receives every build directly/,
    ],
    [
      'an empty promotion',
      (r: Raw) => (r.promotion = []),
      /biomes\.promotion: must list at least one environment/,
    ],
    [
      'an unknown key in a promotion entry',
      (r: Raw) => (r.promotion[1].aproval = true),
      /biomes\.promotion\.1: .*aproval/i,
    ],
    [
      'database capacity order',
      (r: Raw) => (r.environments.dev.database.maxCapacity = 0.5),
      /biomes\.environments\.dev\.database\.maxCapacity/,
    ],
    [
      'prod must not pause',
      (r: Raw) => (r.environments.prod.database.minCapacity = 0),
      /biomes\.environments\.prod\.database\.minCapacity: must be at least 0\.5 in the protected environment "prod"/,
    ],
    [
      'log retention under a year where protected',
      (r: Raw) => (r.environments.prod.logRetentionDays = 90),
      /biomes\.environments\.prod\.logRetentionDays: must be at least 365 in the protected environment "prod": Control Tower's CT\.CLOUDWATCH\.PR\.2/,
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
  const config = parseConfig(rawPlaceholderConfig());
  const tree = { authorEmail: 'alice@example.com' };
  const select = (biome: unknown, env: unknown) => parseSelection(config, biome, env, {}, tree);
  const lifetime = { owner: 'alice@example.com', ttlDays: 7, keep: false };

  test('no biome selects the whole app', () => {
    expect(select(undefined, undefined)).toEqual({ kind: 'all' });
  });

  test('a biome defaults to the first environment of the promotion order', () => {
    expect(select('alice', undefined)).toEqual({
      kind: 'biome',
      env: 'dev',
      biome: 'alice',
      sandpit: lifetime,
    });
    expect(select('alice', 'staging')).toEqual({
      kind: 'biome',
      env: 'staging',
      biome: 'alice',
      sandpit: lifetime,
    });
  });

  test.each(['dev', 'prod', undefined])(
    '-c biome=main (env %s) is refused: the release pipeline deploys main',
    (env) => {
      expect(() => select('main', env)).toThrow(
        /-c biome=main: the release pipeline deploys "main" .*Push to the release branch; in an emergency an operator deploys the named stack of the whole app \(README "Break glass"\)/,
      );
    },
  );

  test("a sandpit may not take the name of a configured environment, not only the grammar's", () => {
    const withQaConfig = parseConfig(withQa());
    expect(() => parseSelection(withQaConfig, 'qa', undefined, {}, tree)).toThrow(
      /-c biome=qa: "qa" is an environment of this app \(dev, qa, staging, prod\); .*pick another name/,
    );
    expect(parseSelection(config, 'qa', undefined, {}, tree)).toMatchObject({ kind: 'biome', biome: 'qa' });
  });

  test('-c commit takes the full commit id and refuses anything else', () => {
    const context: Record<string, unknown> = { biomes: rawPlaceholderConfig(), commit: 'a'.repeat(40) };
    expect(configFromContext((k) => context[k]).commit).toBe('a'.repeat(40));
    context.commit = 'abc123';
    expect(() => configFromContext((k) => context[k])).toThrow(
      /-c commit: commit SHA "abc123" must be the full 40-character/,
    );
    delete context.commit;
    expect(configFromContext((k) => context[k]).commit).toBeUndefined();
  });

  test("the bootstrap qualifier defaults to CDK's and must be one cdk bootstrap accepts", () => {
    expect(parseConfig(rawPlaceholderConfig()).bootstrapQualifier).toBe('hnb659fds');
    expect(configError(withChange((r) => (r.bootstrapQualifier = 'Not-OK')))).toMatch(
      /biomes\.bootstrapQualifier: must be 1-10 lowercase letters or digits/,
    );
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
    expect(() => select(biome, undefined)).toThrow(ConfigError);
    expect(() => select(biome, undefined)).toThrow(rule);
    expect(() => select(biome, undefined)).toThrow(/-c biome/);
  });

  test('an unknown env is refused', () => {
    expect(() => select('alice', 'qa')).toThrow(
      /-c env: "qa" is not an environment; use one of dev, staging, prod/,
    );
  });

  test('sandpits are refused in a protected environment', () => {
    expect(() => select('alice', 'prod')).toThrow(
      /prod is protected and hosts the "main" biome only; create sandpits in dev or staging/,
    );
  });

  test('env without biome is refused rather than ignored', () => {
    expect(() => select(undefined, 'staging')).toThrow(/needs -c biome=<name>/);
  });

  test('configFromContext reads config, biome and env', () => {
    const context: Record<string, unknown> = { biomes: rawPlaceholderConfig(), biome: 'bob', env: 'dev' };
    const { config, selection } = configFromContext((k) => context[k], { authorEmail: 'bob@example.com' });
    expect(config.region).toBe('eu-west-1');
    expect(selection).toEqual({
      kind: 'biome',
      env: 'dev',
      biome: 'bob',
      sandpit: { owner: 'bob@example.com', ttlDays: 7, keep: false },
    });
  });

  test.each(['main-x', 'shared-db'])(
    'biome %s is refused: main- and shared- are the fences of the mainline and shared stacks',
    (biome) => {
      expect(() => select(biome, undefined)).toThrow(/must not start with "main-" or "shared-"/);
    },
  );
});

describe('sandpit owner and lifetime (-c owner, -c ttl, -c keep)', () => {
  const config = parseConfig(rawPlaceholderConfig());
  const select = (context: { owner?: unknown; ttl?: unknown; keep?: unknown }, authorEmail?: string) =>
    parseSelection(config, 'alice', undefined, context, authorEmail ? { authorEmail } : {});
  const sandpit = (s: ReturnType<typeof select>) => (s.kind === 'biome' ? s.sandpit : undefined);

  test('the owner defaults to the Git author email; -c owner overrides it', () => {
    expect(sandpit(select({}, 'dev@example.com'))?.owner).toBe('dev@example.com');
    expect(sandpit(select({ owner: 'lead@example.com' }, 'dev@example.com'))?.owner).toBe('lead@example.com');
  });

  test('without either, synth is refused with what to pass', () => {
    expect(() => select({})).toThrow(/-c owner: a sandpit needs an owner; pass -c owner=<your email>/);
  });

  test.each(["o'neil@example.com", 'a!b@example.com', 'team#1@example.com'])(
    'owner %s is refused: a tag value cannot hold it (the owner tags every resource)',
    (owner) => {
      expect(() => select({ owner })).toThrow(/-c owner: .* has characters an AWS tag value cannot hold/);
    },
  );

  test.each(['Alice.Smith+biomes@Example.com', 'a_b-c@sub.example.co.uk'])(
    'owner %s is accepted',
    (owner) => {
      expect(sandpit(select({ owner }))?.owner).toBe(owner);
    },
  );

  test.each(['alice', 'alice@', '@example.com', 'alice@example', 'a b@example.com'])(
    'owner %s is refused: not an email address',
    (owner) => {
      expect(() => select({ owner })).toThrow(/-c owner: .* is not an email address/);
    },
  );

  test('the TTL defaults to biomes.sandpits.defaultTtlDays and takes whole days up to the maximum', () => {
    expect(sandpit(select({}, 'a@example.com'))?.ttlDays).toBe(7);
    expect(sandpit(select({ ttl: '14' }, 'a@example.com'))?.ttlDays).toBe(14);
    expect(sandpit(select({ ttl: 30 }, 'a@example.com'))?.ttlDays).toBe(30);
  });

  test.each([
    ['0', /positive whole number of days/],
    ['-3', /positive whole number of days/],
    ['1.5', /positive whole number of days/],
    ['a week', /positive whole number of days/],
    ['31', /above the maximum of 30 days \(biomes\.sandpits\.maxTtlDays\); use -c keep=true/],
  ])('ttl %s is refused with the rule', (ttl, rule) => {
    expect(() => select({ ttl }, 'a@example.com')).toThrow(/-c ttl: /);
    expect(() => select({ ttl }, 'a@example.com')).toThrow(rule);
  });

  test('-c keep takes true or false', () => {
    expect(sandpit(select({ keep: 'true' }, 'a@example.com'))?.keep).toBe(true);
    expect(sandpit(select({ keep: false }, 'a@example.com'))?.keep).toBe(false);
    expect(() => select({ keep: 'yes' }, 'a@example.com')).toThrow(/-c keep: "yes" must be true or false/);
  });

  test('every bad value is named at once', () => {
    expect(() => select({ owner: 'x', ttl: '0', keep: 'maybe' })).toThrow(
      /-c owner[\s\S]*-c ttl[\s\S]*-c keep/,
    );
  });

  test.each([
    ['ttl', '3'],
    ['owner', 'a@example.com'],
    ['keep', 'true'],
  ])('-c %s without -c biome (main, or the whole app) is refused: main never expires', (key, value) => {
    expect(() => parseSelection(config, undefined, undefined, { [key]: value })).toThrow(
      new RegExp(`-c ${key}: only a sandpit has an owner and a lifetime .*"main" never expires`),
    );
  });

  test('the maximum and default are config, checked against each other', () => {
    expect(
      configError(
        withChange((r) => {
          r.sandpits = { defaultTtlDays: 40, maxTtlDays: 30 };
        }),
      ),
    ).toMatch(/biomes\.sandpits\.defaultTtlDays: defaultTtlDays must be at most maxTtlDays/);
    expect(
      configError(withChange((r) => (r.sandpits = { deployers: ['arn:aws:iam::2222:role/x'] }))),
    ).toMatch(/biomes\.sandpits\.deployers\.0: must be an IAM role or user ARN/);
  });
});
