import { CustomResource, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { migrationsFingerprint } from '../../../lambda/biome-database/migrations';
import { ATTRIBUTE, PROPERTY, RESOURCE_TYPE } from '../../../lambda/biome-database/properties';
import { isProtectedBiome } from '../../../lambda/shared/environments';
import type { BiomeScope } from '../../../lambda/shared/scope';
import { OnEventProvider } from '../../common/on-event-provider';
import { type LogSettings } from '../../common/logs';

/** The RDS Data API actions a client of the biome's database needs (sorted, as CDK renders them). */
export const DATA_API_ACTIONS = [
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
] as const;

export interface BiomeDatabaseProps {
  /** App, environment and biome: the database, role and secret are the biome's own. */
  readonly names: BiomeScope;
  /** Whether the environment is protected: then `main`'s database is never dropped. */
  readonly protected: boolean;
  /** How long the custom resource's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /** ARN of the shared Aurora cluster (from the shared stack's SSM parameter). */
  readonly clusterArn: string;
  /** ARN of the cluster's master secret (from the shared stack's SSM parameter). */
  readonly masterSecretArn: string;
  /**
   * ARN of the KMS key that encrypts the master secret, when it is a customer managed key.
   * @default - the master secret uses the AWS managed key `aws/secretsmanager` (no grant needed)
   */
  readonly masterSecretKeyArn?: string;
  /**
   * The service token of the environment's shared provider (a sandpit): the stack then holds no role
   * that can read the master secret, which would reach every biome's database; the provider serves the
   * sending stack's own biome only (lambda/biome-database/on-event.ts checkStackFence). The secret is
   * then named (BiomeScope.databaseSecretName), inside the sandpit deployer's IAM fence.
   * @default - a provider of the stack's own (the mainline biome: deployed by the release pipeline)
   */
  readonly sharedServiceToken?: string;
}

/**
 * The biome's own database and role inside the shared Aurora cluster, created and dropped with the
 * biome stack (never dropped for `main` of a protected environment). Reached through the RDS Data API, so nothing here
 * needs a VPC. The schema comes from `lambda/biome-database/migrations.ts`.
 */
export class BiomeDatabase extends Construct {
  /** The biome's login: JSON `{ username, password }`, the format the Data API reads. */
  readonly secret: secretsmanager.ISecret;
  /** Database to pass to the Data API (`database` parameter), e.g. `biome_alice_b`. */
  readonly databaseName: string;
  /** The biome's role in the cluster (also the secret's username). */
  readonly roleName: string;
  /** The shared cluster's ARN (`resourceArn` for the Data API). */
  readonly clusterArn: string;
  /** The custom resource; `getAttString('SchemaVersion')` is the migration version after deploy. */
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: BiomeDatabaseProps) {
    super(scope, id);
    const { biome, env: envName } = props.names;
    const names = props.names.database;
    this.databaseName = names.database;
    this.roleName = names.role;
    this.clusterArn = props.clusterArn;
    const keep = isProtectedBiome(props, biome);

    const secret = new secretsmanager.Secret(this, 'Secret', {
      ...(props.sharedServiceToken ? { secretName: props.names.databaseSecretName } : {}),
      description: `Biomes: login of biome "${biome}" (${envName}) to its database ${names.database}`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: names.role }),
        generateStringKey: 'password',
        // Letters and digits only: the password goes into CREATE ROLE as a literal (no bind
        // parameters in utility statements) and the handler refuses anything else.
        excludePunctuation: true,
        includeSpace: false,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation would need a rotation Lambda that reaches the cluster; the secret lives as long as the biome stack and a redeploy of the stack resets the role to a fresh secret.',
    });
    this.secret = secret;

    const serviceToken =
      props.sharedServiceToken ?? BiomeDatabase.ownProvider(this, props, secret.secretArn).serviceToken;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: {
        [PROPERTY.clusterArn]: props.clusterArn,
        [PROPERTY.masterSecretArn]: props.masterSecretArn,
        [PROPERTY.biomeSecretArn]: secret.secretArn,
        [PROPERTY.env]: envName,
        [PROPERTY.biome]: biome,
        [PROPERTY.protected]: String(props.protected),
        [PROPERTY.migrations]: migrationsFingerprint(),
      },
      // A protected environment's mainline data outlives any stack operation: CloudFormation never
      // even sends Delete (and the handler refuses it anyway).
      removalPolicy: keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }

  /** The provider of a mainline biome's stack: runs SQL as master and as the biome. */
  private static ownProvider(
    scope: Construct,
    props: BiomeDatabaseProps,
    biomeSecretArn: string,
  ): OnEventProvider {
    const { biome } = props.names;
    const provider = new OnEventProvider(scope, 'Provider', {
      functionFolder: 'biome-database',
      description: `Biomes: creates, migrates and drops the database of biome ${biome}`,
      logs: props.logs,
    });
    // The onEvent runs SQL as master (role and database DDL) and as the biome (migrations), and
    // reads the biome's password to give it to the role.
    provider.role.addToPolicy(
      new iam.PolicyStatement({ actions: [...DATA_API_ACTIONS], resources: [props.clusterArn] }),
    );
    provider.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.masterSecretArn, biomeSecretArn],
      }),
    );
    if (props.masterSecretKeyArn) {
      provider.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [props.masterSecretKeyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com` },
          },
        }),
      );
    }

    return provider;
  }

  /** Version of the schema after deploy (a token). */
  get schemaVersion(): string {
    return this.resource.getAttString(ATTRIBUTE.schemaVersion);
  }

  /**
   * Lets `grantee` run SQL in this biome's database (and no other) through the RDS Data API. The
   * Data API cannot scope IAM to a database; the biome's secret does: its role may connect to this
   * database only.
   */
  grantDataAccess(grantee: iam.IGrantable): iam.Grant {
    const data = iam.Grant.addToPrincipal({
      grantee,
      actions: [...DATA_API_ACTIONS],
      resourceArns: [this.clusterArn],
    });
    const secret = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.secret.secretArn],
    });
    return data.combine(secret);
  }
}
