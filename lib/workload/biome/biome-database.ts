import { CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { rules } from 'cdk-nag';
import { Construct } from 'constructs';
import { migrationsFingerprint } from '../../../lambda/biome-database/migrations';
import { biomeDatabaseNames, isProtectedDatabase } from '../../../lambda/biome-database/names';
import { ATTRIBUTE, PROPERTY, RESOURCE_TYPE } from '../../../lambda/biome-database/properties';
import { biomeNameProblem } from '../../../lambda/shared/grammar';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import type { BiomesConfig, EnvName } from '../../config';

/** The RDS Data API actions a client of the biome's database needs (sorted, as CDK renders them). */
export const DATA_API_ACTIONS = [
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
] as const;

/** CloudWatch Logs accepts only these retention periods (days). */
const RETENTION_DAYS = Object.values(logs.RetentionDays).filter(
  (d): d is logs.RetentionDays => typeof d === 'number' && d > 0 && d !== logs.RetentionDays.INFINITE,
);

/** The shortest retention CloudWatch allows that keeps logs at least `days`. */
export function logRetention(days: number): logs.RetentionDays {
  const allowed = [...RETENTION_DAYS].sort((a, b) => a - b).find((d) => d >= days);
  if (allowed === undefined)
    throw new Error(`logRetentionDays ${days} is longer than CloudWatch Logs allows`);
  return allowed;
}

/**
 * Acknowledges, with `reason`, exactly the AwsSolutions-IAM5 (wildcard) findings that `role`'s
 * policy has now. Call it after adding the statements it vouches for: a wildcard added later by
 * someone else is not covered and still fails the check.
 */
export function acknowledgeWildcards(role: iam.Role, reason: string): void {
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
  if (!(policy instanceof iam.CfnPolicy)) return;
  const findings = rules.iam.IAMNoWildcardPermissions(policy);
  if (!Array.isArray(findings)) return;
  for (const finding of findings) {
    Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}

export interface OnEventProviderProps {
  /** Folder under `lambda/` holding the onEvent handler. */
  readonly functionFolder: string;
  readonly description: string;
  /** Days the function's and the framework's logs are kept. */
  readonly logRetentionDays: number;
  /** @default Duration.minutes(5) */
  readonly timeout?: Duration;
}

/**
 * A custom resource provider (CDK Provider framework) around one of our onEvent functions, in house
 * style: explicit log groups destroyed with the stack, and roles without managed policies, so the only
 * permissions are the ones the owning construct adds to {@link role}.
 */
export class OnEventProvider extends Construct {
  readonly function: lambda.Function;
  /** Role of the onEvent function: grant it exactly what the handler calls. */
  readonly role: iam.Role;
  readonly serviceToken: string;

  constructor(scope: Construct, id: string, props: OnEventProviderProps) {
    super(scope, id);
    const retention = logRetention(props.logRetentionDays);
    const logGroup = (name: string) =>
      new logs.LogGroup(this, name, { retention, removalPolicy: RemovalPolicy.DESTROY });
    const role = (name: string) =>
      new iam.Role(this, name, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    const fnLogs = logGroup('OnEventLogs');
    this.role = role('OnEventRole');
    fnLogs.grantWrite(this.role);
    this.function = new lambda.Function(this, 'OnEvent', {
      description: props.description,
      code: LambdaBundles.instance().code(props.functionFolder),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.minutes(5),
      role: this.role,
      logGroup: fnLogs,
    });

    const frameworkLogs = logGroup('FrameworkLogs');
    const frameworkRole = role('FrameworkRole');
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: frameworkLogs,
      frameworkOnEventRole: frameworkRole,
    });
    this.serviceToken = provider.serviceToken;

    acknowledgeWildcards(
      frameworkRole,
      "The CDK Provider framework invokes any version of this construct's own onEvent function (<function arn>:*).",
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Runtimes are chosen deliberately: our function uses the project-wide LAMBDA_RUNTIME and the CDK Provider framework picks its own.',
    });
  }
}

export interface BiomeDatabaseProps {
  readonly config: BiomesConfig;
  readonly envName: EnvName;
  readonly biome: string;
  /** ARN of the shared Aurora cluster (from the shared stack's SSM parameter). */
  readonly clusterArn: string;
  /** ARN of the cluster's master secret (from the shared stack's SSM parameter). */
  readonly masterSecretArn: string;
  /**
   * ARN of the KMS key that encrypts the master secret, when it is a customer managed key.
   * @default - the master secret uses the AWS managed key `aws/secretsmanager` (no grant needed)
   */
  readonly masterSecretKeyArn?: string;
}

/**
 * The biome's own database and role inside the shared Aurora cluster, created and dropped with the
 * biome stack (never dropped for `main` in prod). Reached through the RDS Data API, so nothing here
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
    const problem = biomeNameProblem(props.biome, { allowMainline: true });
    if (problem) throw new Error(`BiomeDatabase: biome ${problem}.`);
    const names = biomeDatabaseNames(props.biome);
    this.databaseName = names.database;
    this.roleName = names.role;
    this.clusterArn = props.clusterArn;
    const keep = isProtectedDatabase(props.envName, props.biome);

    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: `Biomes: login of biome "${props.biome}" (${props.envName}) to its database ${names.database}`,
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

    const provider = new OnEventProvider(this, 'Provider', {
      functionFolder: 'biome-database',
      description: `Biomes: creates, migrates and drops the database of biome ${props.biome}`,
      logRetentionDays: props.config.environments[props.envName].logRetentionDays,
    });
    // The onEvent runs SQL as master (role and database DDL) and as the biome (migrations), and
    // reads the biome's password to give it to the role.
    provider.role.addToPolicy(
      new iam.PolicyStatement({ actions: [...DATA_API_ACTIONS], resources: [props.clusterArn] }),
    );
    provider.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.masterSecretArn, secret.secretArn],
      }),
    );
    if (props.masterSecretKeyArn) {
      provider.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [props.masterSecretKeyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
          },
        }),
      );
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: {
        [PROPERTY.clusterArn]: props.clusterArn,
        [PROPERTY.masterSecretArn]: props.masterSecretArn,
        [PROPERTY.biomeSecretArn]: secret.secretArn,
        [PROPERTY.env]: props.envName,
        [PROPERTY.biome]: props.biome,
        [PROPERTY.migrations]: migrationsFingerprint(),
      },
      // Production's mainline data outlives any stack operation: CloudFormation never even sends
      // Delete (and the handler refuses it anyway).
      removalPolicy: keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
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
