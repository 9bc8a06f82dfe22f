/**
 * The custom resource's properties: the construct writes them, the handler parses them, both from
 * here. CloudFormation passes every property as a string.
 */
import * as z from 'zod/mini';
import { protectedProperty } from '../shared/environments';
import {
  biomeNameSchema,
  booleanPropertySchema,
  envNameSchema,
  parseResourceProperties,
} from '../shared/issues';
import { type BiomeDatabaseNames, BiomeScope } from '../shared/scope';

export const RESOURCE_TYPE = 'Custom::BiomeDatabase';

/** Environment of the shared provider (sandpits): the app and env whose sandpit stacks it serves. */
export const BIOME_DATABASE_ENV = {
  fenceApp: 'BIOMES_STACK_FENCE_APP',
  fenceEnv: 'BIOMES_STACK_FENCE_ENV',
} as const;

export const PROPERTY = {
  clusterArn: 'ClusterArn',
  masterSecretArn: 'MasterSecretArn',
  biomeSecretArn: 'BiomeSecretArn',
  env: 'Env',
  biome: 'Biome',
  /**
   * `true` or `false`: the environment's `protected` flag (biomes.promotion in cdk.json). The
   * handler never drops the database of a protected biome (`isProtectedBiome` of
   * lambda/shared/environments.ts).
   */
  protected: 'Protected',
  /** Fingerprint of the migrations: a new migration changes it, so CloudFormation sends an Update. */
  migrations: 'Migrations',
} as const;

/** Names of the values the handler returns (`Fn::GetAtt` on the custom resource). */
export const ATTRIBUTE = {
  databaseName: 'DatabaseName',
  roleName: 'RoleName',
  schemaVersion: 'SchemaVersion',
} as const;

const clusterArn = z
  .string()
  .check(
    z.regex(
      /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[a-z][a-z0-9-]*$/,
      'must be an Aurora cluster ARN (arn:aws:rds:<region>:<account>:cluster:<id>); check the shared stack parameter database/cluster-arn',
    ),
  );
const secretArn = (what: string) =>
  z
    .string()
    .check(
      z.regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
        `must be the ARN of ${what} (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`,
      ),
    );

export const propertiesSchema = z.object({
  [PROPERTY.clusterArn]: clusterArn,
  [PROPERTY.masterSecretArn]: secretArn("the cluster's master secret"),
  [PROPERTY.biomeSecretArn]: secretArn("the biome's database secret"),
  [PROPERTY.env]: envNameSchema,
  [PROPERTY.biome]: biomeNameSchema,
  [PROPERTY.protected]: z.optional(booleanPropertySchema("the environment's protected flag")),
  [PROPERTY.migrations]: z.optional(z.string()),
});

export interface BiomeDatabaseProperties {
  readonly clusterArn: string;
  readonly masterSecretArn: string;
  readonly biomeSecretArn: string;
  readonly env: string;
  readonly biome: string;
  /** The environment's `protected` flag. */
  readonly protected: boolean;
}

/** Parses the properties, or throws an error that names each bad property and what to do. */
export function parseProperties(raw: unknown): BiomeDatabaseProperties {
  const p = parseResourceProperties(propertiesSchema, raw, RESOURCE_TYPE);
  return {
    clusterArn: p[PROPERTY.clusterArn],
    masterSecretArn: p[PROPERTY.masterSecretArn],
    biomeSecretArn: p[PROPERTY.biomeSecretArn],
    env: p[PROPERTY.env],
    biome: p[PROPERTY.biome],
    protected: protectedProperty(p[PROPERTY.protected], p[PROPERTY.biome]),
  };
}

/** The app {@link biomeDatabaseNames} builds its scope with; the database names do not depend on it. */
const ANY_APP = 'biomes';

/**
 * The biome's database and role: {@link BiomeScope.database}, the names the construct and the
 * services use too. Within one cluster they depend on the biome alone (the cluster belongs to one
 * app in one environment), so the resource carries no App property; any app gives the same names,
 * which a test holds BiomeScope to.
 */
export function biomeDatabaseNames(
  props: Pick<BiomeDatabaseProperties, 'env' | 'biome'>,
): BiomeDatabaseNames {
  return new BiomeScope(ANY_APP, props.env, props.biome).database;
}
