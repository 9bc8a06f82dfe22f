/**
 * The custom resource's properties: the construct writes them, the handler parses them, both from
 * here. CloudFormation passes every property as a string.
 */
import * as z from 'zod/mini';
import { ENV_NAMES } from '../shared/grammar';
import { biomeNameSchema, envNameSchema, parseResourceProperties } from '../shared/issues';

export const RESOURCE_TYPE = 'Custom::BiomeDatabase';

export const PROPERTY = {
  clusterArn: 'ClusterArn',
  masterSecretArn: 'MasterSecretArn',
  biomeSecretArn: 'BiomeSecretArn',
  env: 'Env',
  biome: 'Biome',
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
  [PROPERTY.migrations]: z.optional(z.string()),
});

export interface BiomeDatabaseProperties {
  readonly clusterArn: string;
  readonly masterSecretArn: string;
  readonly biomeSecretArn: string;
  readonly env: (typeof ENV_NAMES)[number];
  readonly biome: string;
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
  };
}
