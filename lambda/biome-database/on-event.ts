/**
 * The Provider framework's onEvent for `Custom::BiomeDatabase`: Create and Update make or converge
 * the biome's role (with the secret's password) and database, then apply new migrations; a failed
 * Create drops what it made; Delete drops both (never for a protected biome: the mainline of a
 * protected environment). Dependencies come in as arguments, so tests run it with mocked clients.
 */
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { type DataApi, dataApi } from '../shared/data-api';
import { issueLines } from '../shared/issues';
import { type RetryOptions, retryWithDefaults } from '../shared/retry';
import { MAINLINE_BIOME } from '../shared/grammar';
import { stackNameOfArn } from '../shared/sandpit';
import { type BiomeDatabaseNames, BiomeScope } from '../shared/scope';
import { dropBiomeDatabase, ensureBiomeDatabase, keepsDatabase, type Log, migrate } from './database';
import { MIGRATIONS, type Migration } from './migrations';
import { ATTRIBUTE, type BiomeDatabaseProperties, biomeDatabaseNames, parseProperties } from './properties';
import { checkPassword } from './sql';

/**
 * How long the resource waits for a resuming cluster: 12 attempts, 2 s doubling to 16 s between
 * them (about 2.5 min in all), within the provider function's timeout (5 min by default,
 * lib/common/on-event-provider.ts). A deploy must not fail because the shared cluster happened to be paused.
 */
export const PROVISIONING_RESUME_RETRY: RetryOptions = {
  attempts: 12,
  baseDelayMs: 2_000,
  maxDelayMs: 16_000,
};

const base = {
  ResourceProperties: z.record(z.string(), z.unknown()),
  /** The ARN of the stack that holds the resource; CloudFormation sets it on every request. */
  StackId: z.optional(z.string()),
};
export const eventSchema = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ...base }),
  z.object({
    RequestType: z.literal('Update'),
    PhysicalResourceId: z.string(),
    OldResourceProperties: z.record(z.string(), z.unknown()),
    ...base,
  }),
  z.object({ RequestType: z.literal('Delete'), PhysicalResourceId: z.string(), ...base }),
]);
export type OnEvent = z.infer<typeof eventSchema>;

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export interface Dependencies {
  readonly rdsData: RDSDataClient;
  readonly secrets: SecretsManagerClient;
  readonly log: Log;
  /** @default PROVISIONING_RESUME_RETRY (unset fields take its values) */
  readonly retry?: Partial<RetryOptions>;
  readonly migrations?: readonly Migration[];
  /**
   * Set on the environment's shared provider, which sandpit stacks use (their own roles may not read
   * the master secret): a request is served only for the biome of the stack that sends it, so one
   * sandpit can never create, migrate or drop another biome's database.
   * @default - the provider belongs to one biome stack (the mainline's)
   */
  readonly stackFence?: { readonly app: string; readonly env: string };
}

/** Refuses a request whose biome is not the sending stack's own (with {@link Dependencies.stackFence}). */
export function checkStackFence(
  fence: Dependencies['stackFence'],
  stackId: string | undefined,
  props: Pick<BiomeDatabaseProperties, 'biome' | 'env'>,
): void {
  if (!fence) return;
  const expected = new BiomeScope(fence.app, fence.env, props.biome).stackName;
  const stack = stackId === undefined ? undefined : stackNameOfArn(stackId);
  if (props.biome === MAINLINE_BIOME || props.env !== fence.env || stack !== expected) {
    throw new Error(
      `The shared biome database provider of ${fence.app}/${fence.env} serves a sandpit stack's own database only: stack ${stack ?? stackId ?? '(none)'} asked for biome "${props.biome}" of ${props.env} (expected stack ${expected}, never "${MAINLINE_BIOME}").`,
    );
  }
}

/** The Data API as one secret's user, waiting out a resume and then failing with the Data API's own error. */
function executor(deps: Dependencies, props: BiomeDatabaseProperties, secretArn: string): DataApi {
  return dataApi(
    { client: deps.rdsData, clusterArn: props.clusterArn, secretArn },
    { retry: retryWithDefaults(PROVISIONING_RESUME_RETRY, deps.retry), stillResuming: 'rethrow' },
  );
}

/** The database's identity: the same biome on the same cluster is the same resource. */
export function physicalId(props: BiomeDatabaseProperties, names: BiomeDatabaseNames): string {
  return `${names.database}@${props.clusterArn}`;
}

const secretValueSchema = z.object({ username: z.string(), password: z.string() });

async function biomePassword(deps: Dependencies, props: BiomeDatabaseProperties, names: BiomeDatabaseNames) {
  const out = await deps.secrets.send(new GetSecretValueCommand({ SecretId: props.biomeSecretArn }));
  let parsed: z.infer<typeof secretValueSchema>;
  try {
    parsed = secretValueSchema.parse(JSON.parse(out.SecretString ?? ''));
  } catch {
    throw new Error(
      `Secret ${props.biomeSecretArn} must hold JSON {"username": "${names.role}", "password": "..."} (the format the Data API reads).`,
    );
  }
  if (parsed.username !== names.role) {
    throw new Error(
      `Secret ${props.biomeSecretArn} has username "${parsed.username}" but biome ${props.biome} uses role "${names.role}": the secret belongs to another biome.`,
    );
  }
  // Checked here, before any SQL: a bad secret must fail the Create without a cleanup to run.
  checkPassword(parsed.password);
  return parsed.password;
}

/**
 * Runs a Create; if it fails, drops what it made before rethrowing. The Provider framework answers a
 * failed Create with a marker physical id and ignores the Delete that follows, so nothing else would
 * ever drop it. Best effort: a failed cleanup is logged, the Create's own error is what CloudFormation
 * shows. A protected biome's database is never dropped.
 */
async function createOrCleanUp<T>(
  create: () => Promise<T>,
  admin: DataApi,
  props: BiomeDatabaseProperties,
  names: BiomeDatabaseNames,
  log: Log,
): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (keepsDatabase(props)) {
      log.warn(`create of ${props.env} ${props.biome} failed: keeping its database and role (protected)`, {
        database: names.database,
        error: String(error),
      });
      throw error;
    }
    log.warn('create failed: dropping the database and role so nothing is left behind', {
      database: names.database,
      error: String(error),
    });
    try {
      await dropBiomeDatabase(admin, names, props, log);
    } catch (cleanup) {
      log.warn('could not drop after the failed create; drop them by hand', {
        database: names.database,
        role: names.role,
        error: String(cleanup),
      });
    }
    throw error;
  }
}

export async function onEvent(raw: unknown, deps: Dependencies): Promise<OnEventResponse> {
  const parsedEvent = eventSchema.safeParse(raw);
  if (!parsedEvent.success) {
    throw new Error(
      `Not a CloudFormation custom resource event (RequestType Create, Update or Delete with ResourceProperties): ${issueLines(parsedEvent.error).join('; ')}`,
    );
  }
  const event = parsedEvent.data;
  const migrations = deps.migrations ?? MIGRATIONS;

  if (event.RequestType === 'Delete') {
    let props: BiomeDatabaseProperties;
    try {
      props = parseProperties(event.ResourceProperties);
    } catch (e) {
      // Create refuses such properties before any SQL runs, so nothing exists to drop; failing here
      // would only leave the stack stuck in DELETE_FAILED during the rollback.
      deps.log.warn('delete with invalid properties: nothing was created, nothing to drop', {
        error: String(e),
      });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    checkStackFence(deps.stackFence, event.StackId, props);
    const names = biomeDatabaseNames(props);
    await dropBiomeDatabase(executor(deps, props, props.masterSecretArn), names, props, deps.log);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const props = parseProperties(event.ResourceProperties);
  checkStackFence(deps.stackFence, event.StackId, props);
  const names = biomeDatabaseNames(props);
  const id = physicalId(props, names);
  const admin = executor(deps, props, props.masterSecretArn);
  const own = executor(deps, props, props.biomeSecretArn);

  // Every Create and Update converges the role and database: repeating it is safe, and it is what
  // carries a rotated or replaced biome secret to the role's password. An Update that moves the
  // database (another cluster) makes the new one here; CloudFormation then deletes the old one with
  // its old properties.
  const password = await biomePassword(deps, props, names);
  const provision = async () => {
    await ensureBiomeDatabase(admin, names, password, deps.log);
    // A rollback sends an Update with the old properties, possibly to older code: it must succeed.
    return migrate(own, names.database, migrations, deps.log, {
      whenAhead: event.RequestType === 'Update' ? 'keep' : 'refuse',
    });
  };
  const result =
    event.RequestType === 'Create'
      ? await createOrCleanUp(provision, admin, props, names, deps.log)
      : await provision();
  deps.log.info('database ready', {
    database: names.database,
    applied: result.applied,
    version: result.current,
  });
  return {
    PhysicalResourceId: id,
    Data: {
      [ATTRIBUTE.databaseName]: names.database,
      [ATTRIBUTE.roleName]: names.role,
      [ATTRIBUTE.schemaVersion]: String(result.current),
    },
  };
}
