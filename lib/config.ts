/**
 * The one typed, validated configuration of Biomes (docs/design.md "Configuration"). `bin/app.ts`
 * builds it once from `cdk.json` context and `-c` overrides; nothing else reads context or the
 * environment. Every bad value fails synth with the key that is wrong and the rule it breaks.
 *
 * Environments are data: `biomes.promotion` lists them in promotion order, with the approvals before
 * them and which are protected; `biomes.accounts.<env>` and `biomes.environments.<env>` hold their
 * values. Adding an environment is a list entry and its values, nothing in code.
 */
import { z } from 'zod';
import { type EnvironmentDefinition, envNameProblem, hostsSandpits } from '../lambda/shared/environments';
import { biomeNameProblem, MAINLINE_BIOME, shaProblem } from '../lambda/shared/grammar';
import { ownerProblem, ttlProblem } from '../lambda/shared/sandpit';
import { inferenceScheduleSchema } from '../lambda/shared/inference-schedule';

/** The context key under which `cdk.json` holds the configuration object. */
export const CONFIG_CONTEXT_KEY = 'biomes';
/** `-c biome=<name>`: synthesize that one biome stack only. */
export const BIOME_CONTEXT_KEY = 'biome';
/** `-c env=<env>` (with `-c biome`): the environment of that biome; default the first of the promotion order. */
export const ENV_CONTEXT_KEY = 'env';
/**
 * `-c commit=<40 hex>`: the commit the build synthesizes the cloud assembly of; every stack records it
 * as an output (never a tag, which CloudFormation would push onto every resource).
 */
export const COMMIT_CONTEXT_KEY = 'commit';
/** `-c owner=<email>` (with `-c biome`): the sandpit's owner; default the working tree's Git author email. */
export const OWNER_CONTEXT_KEY = 'owner';
/** `-c ttl=<days>` (with `-c biome`): the sandpit's lifetime after each deploy; default `biomes.sandpits.defaultTtlDays`. */
export const TTL_CONTEXT_KEY = 'ttl';
/** `-c keep=true` (with `-c biome`): the sweeper reports the sandpit past its expiry but never deletes it. */
export const KEEP_CONTEXT_KEY = 'keep';
/** The key of the DevOps account in `biomes.accounts`. */
export const DEVOPS_ACCOUNT_KEY = 'devops';

const accountId = z
  .string()
  .regex(/^\d{12}$/, 'must be a 12-digit AWS account id, in quotes (e.g. "123456789012")');

const region = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region code such as "eu-west-1"');

/** S3 refuses bucket names with these prefixes (S3 User Guide, "General purpose bucket naming rules"). */
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];

const appName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,14}[a-z0-9]$/,
    'must be 3-16 lowercase letters, digits or hyphens, starting with a letter (it prefixes stack, bucket and parameter names)',
  )
  .refine(
    (name) => !name.includes('--'),
    // RDS cluster identifiers (<app>-<env>-db) may not contain two consecutive hyphens.
    'must not contain two hyphens in a row (it prefixes the Aurora cluster identifier, which RDS refuses with "--")',
  )
  .refine(
    // The landing bucket's name is `<app>-<env>-landing-...`: "sthree" gives "sthree-...".
    (name) => !RESERVED_BUCKET_PREFIXES.some((p) => `${name}-`.startsWith(p)),
    `must not start with ${RESERVED_BUCKET_PREFIXES.map((p) => `"${p}"`).join(', ')} nor be "sthree" or "amzn-s3-demo" (it starts the landing bucket's name, followed by "-", and S3 reserves those prefixes)`,
  );

const envName = z.string().superRefine((name, ctx) => {
  const problem = envNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const sourceSchema = z.object({
  /** Git host of the CodeConnections connection. */
  provider: z
    .enum(['GitLab', 'GitHub', 'Bitbucket', 'GitLabSelfManaged', 'GitHubEnterpriseServer'])
    .default('GitLab'),
  connectionArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/,
      'must be the ARN of an AWS CodeConnections connection (arn:aws:codeconnections:<region>:<account>:connection/<id>)',
    ),
  repository: z
    .string()
    .regex(
      /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/,
      'must be "<owner-or-group>/<repository>" as the Git host names it',
    ),
  /** The mainline branch that releases through every environment in promotion order. */
  branch: z.string().min(1, 'must name the release branch').default('main'),
});

const databaseSchema = z
  .object({
    /** Aurora Serverless v2 minimum ACU; 0 lets the cluster pause when idle (not allowed where protected). */
    minCapacity: z.number().min(0).max(256),
    maxCapacity: z.number().min(1).max(256),
    /** Minutes of inactivity before an auto-paused cluster pauses (5-1440 in RDS). */
    autoPauseMinutes: z.number().int().min(5).max(1440).default(10),
    /** Days of automated backups. */
    backupRetentionDays: z.number().int().min(1).max(35).default(1),
    /**
     * Identifier of the cluster; default `<app>-<env>-db`. Set it to the identifier of a cluster that
     * exists already (a changed identifier replaces the cluster).
     */
    clusterIdentifier: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,62}$/,
        'must be 1-63 lowercase letters, digits or hyphens, starting with a letter',
      )
      .refine((v) => !v.endsWith('-') && !v.includes('--'), 'must not end with a hyphen or contain "--"')
      .optional(),
  })
  .refine((d) => d.maxCapacity >= d.minCapacity, {
    message: 'maxCapacity must be at least minCapacity',
    path: ['maxCapacity'],
  });

const inferenceSchema = z.object({
  /** Instance type of the shared multi-model endpoint. */
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as "ml.m5.large"'),
  initialInstanceCount: z.number().int().min(1).max(10).default(1),
  /** Container image URI; default: the SageMaker scikit-learn image of the region (see lib/workload/shared). */
  image: z.string().min(1).optional(),
  /**
   * When the endpoint is awake (lambda/shared/inference-schedule.ts): outside these hours its instance
   * is deleted and nothing is paid for it (README "Cost"). Absent: always on (prod).
   */
  schedule: z.optional(inferenceScheduleSchema),
});

const trainingSchema = z.object({
  /** Instance type of a biome's retraining job (the train workflow); billed only while a job runs. */
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as "ml.m5.large"')
    .default('ml.m5.large'),
});

/**
 * Progressive delivery of the environment's `main` services (lib/workload/biome/service-canary.ts):
 * CodeDeploy shifts `percent` of alias `live`'s traffic to the new version, waits `bakeMinutes` with
 * the version's alarms armed, then shifts the rest or rolls back. The same `bakeMinutes` is how long a
 * model's predict alarms are watched after its pointer moves (README "When a release goes wrong").
 */
const canarySchema = z.strictObject({
  /** Percent of traffic the new version gets during the bake (CodeDeploy accepts 1-99 for a canary). */
  percent: z.number().int().min(1).max(99),
  /** Minutes of the bake (CodeDeploy's canary interval; at most 2880, two days). */
  bakeMinutes: z.number().int().min(1).max(2880),
});

/**
 * The longest a CodeBuild build may run (TimeoutInMinutes: "from 5 to 2160 (36 hours)", CodeBuild API
 * reference, CreateProject) and what the verify project adds to the release's wait for the integration
 * test and its own start (lib/devops/verify-project.ts).
 */
export const CODEBUILD_MAX_TIMEOUT_MINUTES = 2160;
export const VERIFY_MARGIN_MINUTES = 15;

/** How long an environment's verify step waits for its ledger: the deploy, then a canary's bake. */
export function releaseWaitMinutes(env: Pick<EnvironmentConfig, 'verifyTimeoutMinutes' | 'canary'>): number {
  return env.verifyTimeoutMinutes + (env.canary ? env.canary.bakeMinutes : 0);
}

/** The canary a protected environment gets when its config says nothing (`"canary": false` turns it off). */
export const DEFAULT_PROTECTED_CANARY = { percent: 10, bakeMinutes: 10 } as const;

export type CanaryConfig = z.infer<typeof canarySchema>;

/** The retention periods CloudWatch Logs accepts (days); lib/common/logs.ts `logRetention` maps them to CDK's enum. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const environmentSchema = z.object({
  database: databaseSchema,
  /**
   * Minutes the release's verify step waits for the ledger to show the commit live. Replication without
   * Replication Time Control usually completes within 15 minutes (RTC: 99.99% within 15), so 30 leaves
   * room for the deploy itself while a stuck release still fails the same hour.
   */
  verifyTimeoutMinutes: z.number().int().min(5).max(480).default(30),
  inference: inferenceSchema,
  /** Retraining in the environment (models/README.md "Retraining"). */
  training: trainingSchema.default({ instanceType: 'ml.m5.large' }),
  /**
   * Canary releases of `main`'s services and the bake of its models. Absent: on with
   * {@link DEFAULT_PROTECTED_CANARY} where the environment is protected, off elsewhere; `false`: off.
   */
  canary: z.union([canarySchema, z.literal(false)]).optional(),
  /** S3 Replication Time Control on the release -> landing rule (99.99% within 15 minutes, extra cost). */
  replicationTimeControl: z.boolean().default(false),
  /** Days that landing objects, release objects (after their last publication: what a rollback can re-publish) and old pipeline artifacts are kept. */
  artifactRetentionDays: z.number().int().min(1).max(3650).default(90),
  /** Days the logs of functions and workflows are kept: a period CloudWatch Logs accepts. */
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be a CloudWatch Logs retention period: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(30),
});

/** An IAM principal ARN, wildcards allowed: who may assume the sandpit deployer role. */
const principalPattern = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[A-Za-z0-9+=,.@_/*?-]+$/,
    'must be an IAM role or user ARN, wildcards allowed (e.g. "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_SandpitDeveloper_*")',
  );

const sandpitsSchema = z
  .object({
    /**
     * Who may deploy and destroy sandpits: IAM principal ARN patterns (an SSO permission set's roles, a
     * team role). They may assume the sandpit deployer role of every environment that hosts sandpits, and
     * nothing else of Biomes; the sandpit pipeline's deploy project may too.
     */
    deployers: z.array(principalPattern).default([]),
    /**
     * Email addresses that may push to a sandpit owned by someone else (the sandpit pipeline refuses
     * anyone else whose commit author is not the sandpit's owner).
     */
    maintainers: z.array(z.email('must be an email address')).default([]),
    /** Days a sandpit lives after its last deploy when `-c ttl` is not given. */
    defaultTtlDays: z.number().int().min(1).default(7),
    /** The most `-c ttl` may ask for; `-c keep=true` is for a sandpit that must outlive it. */
    maxTtlDays: z.number().int().min(1).max(365).default(30),
  })
  .refine((s) => s.defaultTtlDays <= s.maxTtlDays, {
    message: 'defaultTtlDays must be at most maxTtlDays',
    path: ['defaultTtlDays'],
  });

const promotionEntrySchema = z.strictObject({
  env: envName,
  /** A manual approval before this environment in the release pipeline. @default false */
  approvalBefore: z.boolean().default(false),
  /** Retains data, termination protection, no sandpits, its `main` never dropped. @default false */
  protected: z.boolean().default(false),
});

const rawSchema = z
  .object({
    appName: appName.default('biomes'),
    region,
    /**
     * Qualifier of the CDK bootstrap of every account (`cdk bootstrap --qualifier`): stacks use its
     * roles and assets bucket, and the release pipeline may assume only those roles.
     */
    bootstrapQualifier: z
      .string()
      .regex(
        /^[a-z0-9]{1,10}$/,
        'must be 1-10 lowercase letters or digits, as cdk bootstrap --qualifier takes',
      )
      .default('hnb659fds'),
    accounts: z.record(z.string(), accountId),
    source: sourceSchema,
    notifications: z
      .object({
        /** Email address subscribed to pipeline failures and approvals; empty for none. */
        email: z
          .union([z.literal(''), z.email('must be an email address or ""')])
          .optional()
          .transform((v) => (v ? v : undefined)),
      })
      .default({ email: undefined }),
    /** Who deploys sandpits, who may take one over, and how long they live. */
    sandpits: sandpitsSchema.default({ deployers: [], maintainers: [], defaultTtlDays: 7, maxTtlDays: 30 }),
    /** The environments in promotion order: the release branch goes through them one after the other. */
    promotion: z.array(promotionEntrySchema).min(1, 'must list at least one environment'),
    environments: z.record(z.string(), z.unknown()),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const listed = c.promotion.map((p) => p.env);
    const seen = new Set<string>();
    c.promotion.forEach((p, i) => {
      if (seen.has(p.env))
        issue(['promotion', i, 'env'], `"${p.env}" is listed twice; each environment once`);
      seen.add(p.env);
      if (!(p.env in c.accounts)) {
        issue(['accounts', p.env], `missing: every environment in promotion needs its account id here`);
      }
      if (!(p.env in c.environments)) {
        issue(['environments', p.env], `missing: every environment in promotion needs its values here`);
      }
    });
    if (!(DEVOPS_ACCOUNT_KEY in c.accounts)) {
      issue(['accounts', DEVOPS_ACCOUNT_KEY], 'missing: the account id of the DevOps account');
    }
    for (const key of Object.keys(c.accounts)) {
      if (key !== DEVOPS_ACCOUNT_KEY && !listed.includes(key)) {
        issue(['accounts', key], `"${key}" is not an environment of promotion (${listed.join(', ')})`);
      }
    }
    for (const key of Object.keys(c.environments)) {
      if (!listed.includes(key)) {
        issue(['environments', key], `"${key}" is not an environment of promotion (${listed.join(', ')})`);
      }
    }
    const first = c.promotion[0];
    if (first?.protected) {
      issue(
        ['promotion', 0, 'protected'],
        'the first environment receives every build and hosts the sandpits, so it cannot be protected',
      );
    }
    if (first?.approvalBefore) {
      issue(
        ['promotion', 0, 'approvalBefore'],
        'the first environment receives every build directly; an approval needs an environment before it',
      );
    }
    const firstProtected = c.promotion.findIndex((p) => p.protected);
    if (firstProtected >= 0) {
      c.promotion.forEach((p, i) => {
        if (i > firstProtected && !p.protected) {
          issue(
            ['promotion', i, 'protected'],
            `"${p.env}" is unprotected but comes after the protected "${c.promotion[firstProtected]?.env}": protected environments come last in the promotion order`,
          );
        }
      });
    }
  });

/** One environment: its promotion facts and its values, resolved once. */
export interface EnvironmentConfig
  extends EnvironmentDefinition, Omit<z.infer<typeof environmentSchema>, 'canary'> {
  /** Resolved: the canary of `main`'s releases, or undefined where releases go live at once. */
  readonly canary?: CanaryConfig;
  /** The environment's workload account. */
  readonly account: string;
  /** 0-based position in the promotion order. */
  readonly index: number;
}

export interface BiomesConfig {
  readonly appName: string;
  readonly region: string;
  readonly bootstrapQualifier: string;
  readonly source: z.infer<typeof sourceSchema>;
  readonly notifications: { readonly email?: string };
  readonly devopsAccount: string;
  readonly sandpits: z.infer<typeof sandpitsSchema>;
  /** Every environment, in promotion order. */
  readonly environments: readonly EnvironmentConfig[];
}

/** What one synth builds: the whole app, or one sandpit's stack. */
export type Selection =
  | { readonly kind: 'all' }
  | {
      readonly kind: 'biome';
      readonly env: string;
      readonly biome: string;
      /** The sandpit's owner and lifetime (stack tags and ledger facts). */
      readonly sandpit: SandpitLifetime;
    };

/** Who owns a sandpit and how long it lives after each deploy (lambda/shared/sandpit.ts). */
export interface SandpitLifetime {
  readonly owner: string;
  readonly ttlDays: number;
  readonly keep: boolean;
}

/** What the working tree says, read by bin/ (Git) for a sandpit: its default owner. */
export interface WorkingTree {
  /** `git config user.email`; undefined outside a Git tree or when unset. */
  readonly authorEmail?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.map((i) => {
    const key = [prefix, ...i.path.map(String)].join('.');
    return `  - ${key}: ${i.message}`;
  });
  return `Invalid Biomes configuration (cdk.json context "${prefix}" or -c overrides):\n${lines.join('\n')}`;
}

/** Validates the raw config object from context. Throws {@link ConfigError} naming each bad key. */
export function parseConfig(raw: unknown): BiomesConfig {
  if (raw === undefined || raw === null || typeof raw !== 'object') {
    throw new ConfigError(
      `Missing Biomes configuration: cdk.json must hold an object under context key "${CONFIG_CONTEXT_KEY}".`,
    );
  }
  const result = rawSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(CONFIG_CONTEXT_KEY, result.error.issues));
  const c = result.data;

  const issues: z.core.$ZodIssue[] = [];
  const environments: EnvironmentConfig[] = [];
  c.promotion.forEach((p, index) => {
    const values = environmentSchema.safeParse(c.environments[p.env]);
    if (!values.success) {
      for (const i of values.error.issues) issues.push({ ...i, path: ['environments', p.env, ...i.path] });
      return;
    }
    if (p.protected && values.data.database.minCapacity < 0.5) {
      issues.push({
        code: 'custom',
        input: values.data.database.minCapacity,
        path: ['environments', p.env, 'database', 'minCapacity'],
        message: `must be at least 0.5 in the protected environment "${p.env}": a production database must not pause`,
      });
    }
    if (p.protected && values.data.logRetentionDays < 365) {
      issues.push({
        code: 'custom',
        input: values.data.logRetentionDays,
        path: ['environments', p.env, 'logRetentionDays'],
        message: `must be at least 365 in the protected environment "${p.env}": Control Tower's CT.CLOUDWATCH.PR.2 requires a year`,
      });
    }
    const { canary, ...rest } = values.data;
    const resolvedCanary = canary ?? (p.protected ? DEFAULT_PROTECTED_CANARY : false);
    const wait = releaseWaitMinutes({
      verifyTimeoutMinutes: rest.verifyTimeoutMinutes,
      canary: resolvedCanary || undefined,
    });
    if (wait + VERIFY_MARGIN_MINUTES > CODEBUILD_MAX_TIMEOUT_MINUTES) {
      issues.push({
        code: 'custom',
        input: wait,
        path: ['environments', p.env, resolvedCanary ? 'canary' : 'verifyTimeoutMinutes'],
        message: `verifyTimeoutMinutes plus canary.bakeMinutes is ${wait}; it must be at most ${CODEBUILD_MAX_TIMEOUT_MINUTES - VERIFY_MARGIN_MINUTES}: the verify step waits both in one CodeBuild build, which runs at most ${CODEBUILD_MAX_TIMEOUT_MINUTES} minutes (36 hours)`,
      });
    }
    environments.push({
      name: p.env,
      approvalBefore: p.approvalBefore,
      protected: p.protected,
      account: c.accounts[p.env] ?? '',
      index,
      ...rest,
      ...(resolvedCanary ? { canary: resolvedCanary } : {}),
    });
  });
  if (issues.length > 0) throw new ConfigError(formatIssues(CONFIG_CONTEXT_KEY, issues));
  return {
    appName: c.appName,
    region: c.region,
    bootstrapQualifier: c.bootstrapQualifier,
    source: c.source,
    notifications: c.notifications,
    devopsAccount: c.accounts[DEVOPS_ACCOUNT_KEY] ?? '',
    sandpits: c.sandpits,
    environments,
  };
}

/** The environment called `name`; throws {@link ConfigError} listing the environments when there is none. */
export function environmentOf(config: BiomesConfig, name: string): EnvironmentConfig {
  const env = config.environments.find((e) => e.name === name);
  if (!env) {
    throw new ConfigError(
      `"${name}" is not an environment; use one of ${config.environments.map((e) => e.name).join(', ')} (biomes.promotion in cdk.json).`,
    );
  }
  return env;
}

/** The first environment of the promotion order: every build publishes there, and sandpit builds only there. */
export function firstEnvironment(config: BiomesConfig): EnvironmentConfig {
  const first = config.environments[0];
  if (!first) throw new ConfigError('biomes.promotion: must list at least one environment');
  return first;
}

/**
 * A context value as text: `-c key=value` always gives a string; any other JSON value (from cdk.json or
 * `--context` JSON) reads as the JSON it is (the same text as `String` for numbers, booleans and null).
 */
function contextText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** The raw sandpit context values (`-c owner`, `-c ttl`, `-c keep`). */
export interface SandpitContext {
  readonly owner?: unknown;
  readonly ttl?: unknown;
  readonly keep?: unknown;
}

/** The sandpit's owner, lifetime and keep flag from context and the working tree; each bad value names its key. */
export function parseLifetime(
  config: BiomesConfig,
  context: SandpitContext,
  tree: WorkingTree = {},
): SandpitLifetime {
  const problems: string[] = [];
  const ownerText = context.owner === undefined ? tree.authorEmail : contextText(context.owner);
  let owner = '';
  if (ownerText === undefined || ownerText === '') {
    problems.push(
      `-c ${OWNER_CONTEXT_KEY}: a sandpit needs an owner; pass -c ${OWNER_CONTEXT_KEY}=<your email> or set git config user.email`,
    );
  } else {
    const problem = ownerProblem(ownerText);
    if (problem) problems.push(`-c ${OWNER_CONTEXT_KEY}: ${problem}`);
    owner = ownerText;
  }
  let ttlDays = config.sandpits.defaultTtlDays;
  if (context.ttl !== undefined) {
    const text = contextText(context.ttl);
    const problem = ttlProblem(text, config.sandpits.maxTtlDays);
    if (problem) problems.push(`-c ${TTL_CONTEXT_KEY}: ${problem}`);
    else ttlDays = Number(text);
  }
  let keep = false;
  if (context.keep !== undefined) {
    const text = contextText(context.keep);
    if (text !== 'true' && text !== 'false') {
      problems.push(`-c ${KEEP_CONTEXT_KEY}: "${text}" must be true or false`);
    }
    keep = text === 'true';
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return { owner, ttlDays, keep };
}

/** Parses `-c biome=<name>` and `-c env=<env>` (and a sandpit's owner and lifetime) into what the app should synthesize. */
export function parseSelection(
  config: BiomesConfig,
  biome: unknown,
  env: unknown,
  sandpit: SandpitContext = {},
  tree: WorkingTree = {},
): Selection {
  if (biome === undefined) {
    const given = (
      [
        [OWNER_CONTEXT_KEY, sandpit.owner],
        [TTL_CONTEXT_KEY, sandpit.ttl],
        [KEEP_CONTEXT_KEY, sandpit.keep],
      ] as const
    ).filter(([, v]) => v !== undefined);
    if (given.length > 0) {
      throw new ConfigError(
        `${given.map(([k]) => `-c ${k}`).join(', ')}: only a sandpit has an owner and a lifetime (with -c ${BIOME_CONTEXT_KEY}=<name>); "${MAINLINE_BIOME}" never expires.`,
      );
    }
  }
  if (env !== undefined && biome === undefined) {
    throw new ConfigError(
      `-c ${ENV_CONTEXT_KEY}=${contextText(env)} needs -c ${BIOME_CONTEXT_KEY}=<name>: env selects the environment of one biome (without biome the whole app is synthesized).`,
    );
  }
  if (biome === undefined) return { kind: 'all' };
  const envName = env === undefined ? firstEnvironment(config).name : env;
  const known = config.environments.map((e) => e.name);
  if (typeof envName !== 'string' || !known.includes(envName)) {
    throw new ConfigError(
      `-c ${ENV_CONTEXT_KEY}: "${contextText(env)}" is not an environment; use one of ${known.join(', ')}.`,
    );
  }
  const name = contextText(biome);
  if (name === MAINLINE_BIOME) {
    throw new ConfigError(
      `-c ${BIOME_CONTEXT_KEY}=${MAINLINE_BIOME}: the release pipeline deploys "${MAINLINE_BIOME}" (infrastructure, publish, verify, in promotion order), never a -c ${BIOME_CONTEXT_KEY} synth. Push to the release branch; in an emergency an operator deploys the named stack of the whole app (README "Break glass").`,
    );
  }
  const problem = biomeNameProblem(name);
  if (problem) throw new ConfigError(`-c ${BIOME_CONTEXT_KEY}: ${problem}.`);
  // The grammar reserves the usual environment names; a configured one (say qa) is reserved here.
  if (known.includes(name)) {
    throw new ConfigError(
      `-c ${BIOME_CONTEXT_KEY}=${name}: "${name}" is an environment of this app (${known.join(', ')}); a sandpit named after one reads as that environment; pick another name.`,
    );
  }
  const environment = environmentOf(config, envName);
  if (!hostsSandpits(environment) && name !== MAINLINE_BIOME) {
    const hosts = config.environments.filter(hostsSandpits).map((e) => e.name);
    throw new ConfigError(
      `-c ${BIOME_CONTEXT_KEY}=${name} -c ${ENV_CONTEXT_KEY}=${envName}: ${envName} is protected and hosts the "${MAINLINE_BIOME}" biome only; create sandpits in ${hosts.join(' or ')}.`,
    );
  }
  return { kind: 'biome', env: envName, biome: name, sandpit: parseLifetime(config, sandpit, tree) };
}

/** Parses `-c commit=<sha>`: absent, or the full commit id. */
export function parseCommit(commit: unknown): string | undefined {
  if (commit === undefined) return undefined;
  const text = contextText(commit);
  const problem = shaProblem(text);
  if (problem) throw new ConfigError(`-c ${COMMIT_CONTEXT_KEY}: ${problem}.`);
  return text;
}

/** Everything `bin/app.ts` reads from context (and, for a sandpit's default owner, the working tree), validated together. */
export function configFromContext(
  get: (key: string) => unknown,
  tree: WorkingTree = {},
): {
  config: BiomesConfig;
  selection: Selection;
  commit?: string;
} {
  const config = parseConfig(get(CONFIG_CONTEXT_KEY));
  const selection = parseSelection(
    config,
    get(BIOME_CONTEXT_KEY),
    get(ENV_CONTEXT_KEY),
    { owner: get(OWNER_CONTEXT_KEY), ttl: get(TTL_CONTEXT_KEY), keep: get(KEEP_CONTEXT_KEY) },
    tree,
  );
  const commit = parseCommit(get(COMMIT_CONTEXT_KEY));
  return { config, selection, ...(commit ? { commit } : {}) };
}
