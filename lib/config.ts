/**
 * The one typed, validated configuration of Biomes (DESIGN.md "Configuration"). `bin/app.ts` builds
 * it once from `cdk.json` context and `-c` overrides; nothing else reads context or the environment.
 * Every bad value fails synth with the key that is wrong and the rule it breaks.
 */
import { z } from 'zod';
import { biomeNameProblem, ENV_NAMES, type EnvName, MAINLINE_BIOME } from '../lambda/shared/grammar';

export { ENV_NAMES, type EnvName } from '../lambda/shared/grammar';

/** The context key under which `cdk.json` holds the configuration object. */
export const CONFIG_CONTEXT_KEY = 'biomes';
/** `-c biome=<name>`: synthesize that one biome stack only. */
export const BIOME_CONTEXT_KEY = 'biome';
/** `-c env=<env>` (with `-c biome`): the environment of that biome; default `dev`. */
export const ENV_CONTEXT_KEY = 'env';

const accountId = z
  .string()
  .regex(/^\d{12}$/, 'must be a 12-digit AWS account id, in quotes (e.g. "123456789012")');

const region = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region code such as "eu-west-1"');

const appName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,14}[a-z0-9]$/,
    'must be 3-16 lowercase letters, digits or hyphens, starting with a letter (it prefixes stack, bucket and parameter names)',
  );

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
  /** The mainline branch that releases to dev/main -> staging/main -> prod/main. */
  branch: z.string().min(1, 'must name the release branch').default('main'),
});

const databaseSchema = z
  .object({
    /** Aurora Serverless v2 minimum ACU; 0 lets the cluster pause when idle (not allowed in prod). */
    minCapacity: z.number().min(0).max(256),
    maxCapacity: z.number().min(1).max(256),
    /** Minutes of inactivity before an auto-paused cluster pauses (5-1440 in RDS). */
    autoPauseMinutes: z.number().int().min(5).max(1440).default(10),
    /** Days of automated backups. */
    backupRetentionDays: z.number().int().min(1).max(35).default(1),
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
});

/** The retention periods CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const environmentSchema = z.object({
  database: databaseSchema,
  inference: inferenceSchema,
  /** S3 Replication Time Control on the release -> landing rule (99.99% within 15 minutes, extra cost). */
  replicationTimeControl: z.boolean().default(false),
  /** Days that landing objects and old pipeline artifacts are kept. */
  artifactRetentionDays: z.number().int().min(1).max(3650).default(90),
  /** Days the logs of functions and workflows are kept: a period CloudWatch Logs accepts. */
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be a CloudWatch Logs retention period: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(30),
});

const configSchema = z
  .object({
    appName: appName.default('biomes'),
    region,
    accounts: z.object({ devops: accountId, dev: accountId, staging: accountId, prod: accountId }),
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
    environments: z.object({ dev: environmentSchema, staging: environmentSchema, prod: environmentSchema }),
  })
  .superRefine((c, ctx) => {
    if (c.environments.prod.database.minCapacity < 0.5) {
      ctx.addIssue({
        code: 'custom',
        path: ['environments', 'prod', 'database', 'minCapacity'],
        message: 'must be at least 0.5 in prod: a production database must not pause',
      });
    }
  });

export type BiomesConfig = z.infer<typeof configSchema>;
export type EnvironmentConfig = BiomesConfig['environments'][EnvName];

/** What one synth builds: the whole app, or one biome's stack. */
export type Selection =
  { readonly kind: 'all' } | { readonly kind: 'biome'; readonly env: EnvName; readonly biome: string };

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
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(CONFIG_CONTEXT_KEY, result.error.issues));
  return result.data;
}

/** Parses `-c biome=<name>` and `-c env=<env>` into what the app should synthesize. */
export function parseSelection(biome: unknown, env: unknown): Selection {
  if (env !== undefined && biome === undefined) {
    throw new ConfigError(
      `-c ${ENV_CONTEXT_KEY}=${String(env)} needs -c ${BIOME_CONTEXT_KEY}=<name>: env selects the environment of one biome (without biome the whole app is synthesized).`,
    );
  }
  if (biome === undefined) return { kind: 'all' };
  const envName = env === undefined ? 'dev' : env;
  if (typeof envName !== 'string' || !(ENV_NAMES as readonly string[]).includes(envName)) {
    throw new ConfigError(
      `-c ${ENV_CONTEXT_KEY}: "${String(env)}" is not an environment; use one of ${ENV_NAMES.join(', ')}.`,
    );
  }
  const name = String(biome);
  const problem = biomeNameProblem(name, { allowMainline: true });
  if (problem) throw new ConfigError(`-c ${BIOME_CONTEXT_KEY}: ${problem}.`);
  if (envName === 'prod' && name !== MAINLINE_BIOME) {
    throw new ConfigError(
      `-c ${BIOME_CONTEXT_KEY}=${name} -c ${ENV_CONTEXT_KEY}=prod: prod hosts the "${MAINLINE_BIOME}" biome only; create sandpits in dev (or staging).`,
    );
  }
  return { kind: 'biome', env: envName as EnvName, biome: name };
}

/** Everything `bin/app.ts` reads from context, validated together. */
export function configFromContext(get: (key: string) => unknown): {
  config: BiomesConfig;
  selection: Selection;
} {
  const config = parseConfig(get(CONFIG_CONTEXT_KEY));
  const selection = parseSelection(get(BIOME_CONTEXT_KEY), get(ENV_CONTEXT_KEY));
  return { config, selection };
}

/** The account of an environment. */
export function accountOf(config: BiomesConfig, env: EnvName | 'devops'): string {
  return config.accounts[env];
}

/** The biomes each environment hosts in a full synth: its mainline only (sandpits come from `-c biome`). */
export function biomesInFullSynth(): readonly string[] {
  return [MAINLINE_BIOME];
}
