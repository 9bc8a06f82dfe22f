/**
 * The Provider framework's onEvent for `Custom::BiomeDatabase`: Create makes the biome's role and
 * database and migrates it; Update applies new migrations; Delete drops both (never in prod main).
 * Dependencies come in as arguments, so tests run it with mocked clients.
 */
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { issueLines } from '../shared/issues';
import { dataApiExecutor, type RetryOptions } from './data-api';
import { dropBiomeDatabase, ensureBiomeDatabase, type Log, migrate } from './database';
import { MIGRATIONS, type Migration } from './migrations';
import { type BiomeDatabaseNames, biomeDatabaseNames } from './names';
import { ATTRIBUTE, type BiomeDatabaseProperties, parseProperties } from './properties';

const base = { ResourceProperties: z.record(z.string(), z.unknown()) };
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
  readonly retry?: RetryOptions;
  readonly migrations?: readonly Migration[];
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
  return parsed.password;
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
    const names = biomeDatabaseNames(props.biome);
    const admin = dataApiExecutor(
      deps.rdsData,
      { resourceArn: props.clusterArn, secretArn: props.masterSecretArn },
      deps.retry,
    );
    await dropBiomeDatabase(admin, names, props, deps.log);
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const props = parseProperties(event.ResourceProperties);
  const names = biomeDatabaseNames(props.biome);
  const id = physicalId(props, names);
  const admin = dataApiExecutor(
    deps.rdsData,
    { resourceArn: props.clusterArn, secretArn: props.masterSecretArn },
    deps.retry,
  );
  const own = dataApiExecutor(
    deps.rdsData,
    { resourceArn: props.clusterArn, secretArn: props.biomeSecretArn },
    deps.retry,
  );

  // An Update that moves the database (another cluster) is a Create of the new one; CloudFormation
  // then deletes the old one with its old properties.
  if (event.RequestType === 'Create' || event.PhysicalResourceId !== id) {
    await ensureBiomeDatabase(admin, names, await biomePassword(deps, props, names), deps.log);
  }
  const result = await migrate(own, names.database, migrations, deps.log);
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
