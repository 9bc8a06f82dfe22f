/**
 * Every name derived from an app, an environment and a biome has its home here (docs/design.md
 * "Names and grammar"): stack names, SSM parameter paths, the database and its role, the model
 * prefix, the workflow's log group, the deploy trigger's function-name fence. CDK constructs and
 * Lambda handlers build the same {@link EnvScope} / {@link BiomeScope} from the same three strings,
 * so they can never disagree on a name. Pure: no AWS or CDK imports.
 *
 * Two biomes never collide: every name below contains the biome, separated so that no biome name is
 * a prefix of another's name (`alice/` versus `alice-b/`, `/alice/` versus `/alice-b/`).
 */
import { biomeNameProblem } from './grammar';
import { envNameProblem } from './environments';

/** What the shared stack publishes for biome stacks: `/<app>/<env>/shared/<leaf>`. */
export const SHARED_PARAMETER_LEAVES = {
  landingBucketName: 'landing-bucket-name',
  ledgerTableName: 'ledger-table-name',
  dbClusterArn: 'database/cluster-arn',
  dbMasterSecretArn: 'database/master-secret-arn',
  dbClusterIdentifier: 'database/cluster-identifier',
  modelBucketName: 'inference/model-bucket-name',
  /** Key prefix (ending in `/`) of the multi-model endpoint's model location; TargetModel is relative to it. */
  modelPrefix: 'inference/model-prefix',
  endpointName: 'inference/endpoint-name',
  /** ARN of the model location's KMS key: a biome's train workflow encrypts its training output with it. */
  modelKeyArn: 'inference/model-key-arn',
  /** ARN of the landing bucket's KMS key: a biome's train workflow delivers retrained archives there. */
  landingKeyArn: 'landing-key-arn',

  /** ARN of the environment's logs key: every log group of the environment is encrypted with it. */
  logsKeyArn: 'logs/key-arn',
  /** ARN of the environment's alerts topic: the action of every alarm a biome stack creates (CT.CLOUDWATCH.PR.1). */
  alertsTopicArn: 'alerts/topic-arn',
  /** Only where sandpits live: the shared biome database provider (sandpit stacks hold no master-secret role). */
  sandpitDatabaseToken: 'sandpits/database-service-token',
  /** Only where sandpits live: the ledger recorder a sandpit stack reports its CDK deploys to. */
  sandpitRecorderToken: 'sandpits/recorder-service-token',
  /** Only where sandpits live: the topic of owner notices (subscriptions filter on the biome). */
  ownersTopicArn: 'sandpits/owners-topic-arn',
} as const;

export type SharedParameter = keyof typeof SHARED_PARAMETER_LEAVES;
/** The shared parameters that exist only in an environment that hosts sandpits. */
export const SANDPIT_PARAMETERS = ['sandpitDatabaseToken', 'sandpitRecorderToken', 'ownersTopicArn'] as const;
export type SandpitParameter = (typeof SANDPIT_PARAMETERS)[number];

/** Key prefixes of the model location's bucket for retraining (BiomeScope.trainingDataPrefix, trainingOutputPrefix). */
export const TRAINING_DATA_PREFIX = 'training-data/';
export const TRAINING_OUTPUT_PREFIX = 'training-output/';

/** A training job name's time: `yyyymmddhhmmss`, UTC. */
const TRAINING_JOB_TIME_LENGTH = 14;

/** The database every PostgreSQL cluster has; role and database DDL run connected to it. */
export const MAINTENANCE_DATABASE = 'postgres';
/** Prefix of every biome database and role, so they never clash with system or admin names. */
export const BIOME_IDENTIFIER_PREFIX = 'biome_';

export interface BiomeDatabaseNames {
  /** The biome's database, e.g. `biome_alice_b` for biome `alice-b`. */
  readonly database: string;
  /** The biome's login role; the same text as the database (roles and databases are separate namespaces). */
  readonly role: string;
}

/** One app in one environment (one workload account): the names the shared stack and the deploy trigger use. */
export class EnvScope {
  constructor(
    readonly app: string,
    readonly env: string,
  ) {
    const problem = envNameProblem(env);
    if (problem) throw new Error(`environment ${problem}`);
  }

  /** Root of every SSM parameter of this app in this environment. */
  get parameterRoot(): string {
    return `/${this.app}/${this.env}`;
  }

  /** `/<app>/<env>/shared/<leaf>`: a shared resource, read by biome stacks at deploy time. */
  sharedParameter(which: SharedParameter): string {
    return `${this.parameterRoot}/shared/${SHARED_PARAMETER_LEAVES[which]}`;
  }

  /**
   * Whether the endpoint is awake (lambda/shared/inference-schedule.ts `InferenceState`, JSON): not
   * a CloudFormation parameter but state, written only by the endpoint's owner
   * (lambda/inference-endpoint/) and read by the deploy trigger and the predict service to tell
   * "asleep until" from a fault. `/<app>/<env>/shared/inference/state`.
   */
  get inferenceStateParameter(): string {
    return `${this.parameterRoot}/shared/inference/state`;
  }

  /**
   * The function that owns the endpoint: CloudFormation's provider, the schedule's and `npm run wake`'s
   * target. Named under the shared stack's prefix, which the sandpit fence excludes: no sandpit role or
   * sandpit deployer may invoke, hotswap or replace it (it can delete the endpoint).
   */
  get inferenceEndpointFunctionName(): string {
    return `${this.sharedStackName}-inference-endpoint`;
  }

  /** The log group of the endpoint owner's waiter state machine (vended-logs prefix: see workflowLogGroupName). */
  get inferenceEndpointWaiterLogGroupName(): string {
    return `/aws/vendedlogs/states/${this.inferenceEndpointFunctionName}-waiter`;
  }

  /** Every biome's model pointers (`<root>/<biome>/model-pointers/<model>`): what the deploy trigger moves. */
  get anyModelPointer(): string {
    return `${this.parameterRoot}/*/model-pointers/*`;
  }

  get sharedStackName(): string {
    return `${this.app}-${this.env}-shared`;
  }

  /**
   * The shared multi-model endpoint. Named because IAM matches SageMaker endpoint ARNs in lowercase:
   * a CloudFormation-generated, mixed-case name would make every `InvokeEndpoint` grant miss.
   */
  get endpointName(): string {
    return `${this.app}-${this.env}-models`;
  }

  /**
   * The landing bucket, in the environment's workload account. Named because the DevOps account's
   * replication rule must name its destination before the workload stack exists; account and region
   * make it globally unique.
   */
  landingBucketName(account: string, region: string): string {
    return `${this.app}-${this.env}-landing-${account}-${region}`;
  }

  /** Alias of the landing bucket's KMS key; replicas are encrypted with it. */
  get landingKeyAlias(): string {
    return `alias/${this.app}-${this.env}-landing`;
  }

  /**
   * The read-and-verify role of the environment (in its mainline biome stack): named, because the
   * DevOps account's verify project assumes it by ARN.
   */
  get releaseVerifyRoleName(): string {
    return `${this.app}-${this.env}-release-verify`;
  }

  /**
   * The sandpit deployer: the role people (biomes.sandpits.deployers) and the sandpit pipeline assume to
   * create, update, hotswap or delete a sandpit stack, and nothing else (lib/workload/shared/sandpit-deployer.ts).
   * Named: biome stacks' synthesizer and the DevOps account's deploy project name it.
   */
  get sandpitDeployerRoleName(): string {
    return `${this.app}-${this.env}-sandpit-deployer`;
  }

  /** The CloudFormation service role of every sandpit stack: it can create only what a biome stack contains. */
  get sandpitExecutionRoleName(): string {
    return `${this.app}-${this.env}-sandpit-execution`;
  }

  /** The topic of sandpit owner notices; named because the DevOps account's sandpit projects publish to it. */
  get ownersTopicName(): string {
    return `${this.app}-${this.env}-sandpit-owners`;
  }

  /** The permissions boundary of every role a sandpit stack creates (a customer managed policy). */
  get sandpitBoundaryName(): string {
    return `${this.app}-${this.env}-sandpit-boundary`;
  }

  /**
   * How sandpit resource names are fenced: every name a sandpit stack's resources get starts with
   * `<app>-<env>-<biome>-` (CloudFormation-generated names start with the stack name), so IAM allows
   * `<app>-<env>-*` and denies the mainline and shared stacks' `<app>-<env>-main-*` and
   * `<app>-<env>-shared-*` (biome names may not start with `main-` or `shared-`, lambda/shared/grammar.ts).
   */
  get sandpitFence(): { readonly prefix: string; readonly excluded: readonly string[] } {
    const prefix = `${this.app}-${this.env}-`;
    return { prefix, excluded: [`${prefix}main-`, `${prefix}shared-`] };
  }

  /**
   * The shared Aurora cluster's identifier. Named because its PostgreSQL log group, which the stack
   * owns (encrypted, with retention), must exist before the cluster exports into
   * `/aws/rds/cluster/<identifier>/postgresql`.
   */
  get databaseClusterIdentifier(): string {
    return `${this.app}-${this.env}-db`;
  }

  /** The scope of one biome of this environment. */
  biome(biome: string): BiomeScope {
    return new BiomeScope(this.app, this.env, biome);
  }
}

/** One biome of one environment: the names its stack, its registrations, database and models take. */
export class BiomeScope {
  readonly envScope: EnvScope;

  constructor(
    readonly app: string,
    readonly env: string,
    readonly biome: string,
  ) {
    this.envScope = new EnvScope(app, env);
    const problem = biomeNameProblem(biome, { allowMainline: true });
    if (problem) throw new Error(`biome ${problem}`);
  }

  get stackName(): string {
    return `${this.app}-${this.env}-${this.biome}`;
  }

  /** Root of the biome's registrations: `/<app>/<env>/<biome>`. */
  get parameterRoot(): string {
    return `${this.envScope.parameterRoot}/${this.biome}`;
  }

  /** `/<app>/<env>/<biome>/services/<name>`: a service registration (JSON) for the deploy trigger. */
  serviceRegistration(service: string): string {
    return `${this.parameterRoot}/services/${service}`;
  }

  /** `/<app>/<env>/<biome>/models/<name>`: a model registration (JSON) for the deploy trigger. */
  modelRegistration(model: string): string {
    return `${this.parameterRoot}/models/${model}`;
  }

  /** `/<app>/<env>/<biome>/model-pointers/<name>`: the TargetModel live for that model (or `none`). */
  modelPointer(model: string): string {
    return `${this.parameterRoot}/model-pointers/${model}`;
  }

  /**
   * The CodeDeploy application of the biome's canary releases (`main` of an environment with a
   * canary): the stack's name, so the deploy trigger's IAM and its EventBridge rule name it exactly.
   */
  get releaseApplicationName(): string {
    return this.stackName;
  }

  /**
   * The alarm on a service's alias `live` that stops its canary (`errors` or `throttles`):
   * `<app>-<env>-<biome>-<service>-<metric>`, so one prefix ({@link alarmPrefix}) fences them.
   */
  serviceAlarmName(service: string, metric: 'errors' | 'throttles'): string {
    return `${this.alarmPrefix}${service}-${metric}`;
  }

  /** The prefix of every alarm the biome's releases watch. */
  get alarmPrefix(): string {
    return `${this.stackName}-`;
  }

  /** `/<app>/<env>/<biome>/workflow-arn`: the biome's workflow, for the release's integration test. */
  get workflowArnParameter(): string {
    return `${this.parameterRoot}/workflow-arn`;
  }

  /**
   * The database and role of the biome inside the shared cluster. The cluster belongs to one app in
   * one environment, so the biome alone makes them unique; biome names never contain `_`, so mapping
   * `-` to `_` is one-to-one.
   */
  get database(): BiomeDatabaseNames {
    const identifier = `${BIOME_IDENTIFIER_PREFIX}${this.biome.replace(/-/g, '_')}`;
    return { database: identifier, role: identifier };
  }

  /** Where the biome's models live on the model location: `<locationPrefix><biome>/` (the slash keeps `alice` off `alice-b`). */
  modelPrefix(locationPrefix: string): string {
    return `${locationPrefix}${this.biome}/`;
  }

  /**
   * A sandpit's database secret. Named (only in sandpits) so that the sandpit deployer's IAM fence
   * (EnvScope.sandpitFence) covers it: a generated secret name would not contain the stack name.
   */
  get databaseSecretName(): string {
    return `${this.stackName}-database`;
  }

  /** A sandpit's workflow state machine: named for the same fence (a generated name lacks the stack name). */
  get stateMachineName(): string {
    return `${this.stackName}-workflow`;
  }

  /** The biome's train workflow (always named: the sandpit fence covers it, and the name says whose it is). */
  get trainStateMachineName(): string {
    return `${this.stackName}-train`;
  }

  /** Its log group, under `/aws/vendedlogs/` for the reason given at {@link workflowLogGroupName}. */
  get trainLogGroupName(): string {
    return `/aws/vendedlogs/states/${this.stackName}-train`;
  }

  /**
   * Where the biome keeps the training data of `model` on the model location's bucket:
   * `training-data/<biome>/<model>/` (outside the endpoint's `models/` prefix, so the endpoint never
   * reads it). The biome's train workflow reads only this prefix.
   */
  trainingDataPrefix(model: string): string {
    return `${TRAINING_DATA_PREFIX}${this.biome}/${model}/`;
  }

  /** Where the biome's training jobs write their output: `training-output/<biome>/`. */
  get trainingOutputPrefix(): string {
    return `${TRAINING_OUTPUT_PREFIX}${this.biome}/`;
  }

  /**
   * The prefix of the biome's SageMaker training job names (`<app>-<env>-<biome>-`); a job name is
   * this plus a 14-digit UTC time (`yyyymmddhhmmss`), and SageMaker allows 63 characters.
   */
  get trainingJobPrefix(): string {
    return `${this.stackName}-`;
  }

  /**
   * The biome's training job names, exactly, as an IAM pattern: {@link trainingJobPrefix} and 14
   * single-character wildcards (`?`) for the time. `<prefix>*` would also match the jobs of a biome
   * whose name starts with this one's and a hyphen (`alice-b`'s for `alice`).
   */
  get trainingJobPattern(): string {
    return `${this.trainingJobPrefix}${'?'.repeat(TRAINING_JOB_TIME_LENGTH)}`;
  }

  /** Whether `name` is one of this biome's training job names (what {@link trainingJobPattern} matches). */
  isTrainingJobName(name: string): boolean {
    const time = name.slice(this.trainingJobPrefix.length);
    return (
      name.startsWith(this.trainingJobPrefix) && new RegExp(`^\\d{${TRAINING_JOB_TIME_LENGTH}}$`).test(time)
    );
  }

  /**
   * A training job's name at `now`: {@link trainingJobPrefix} and the UTC time to the second. A
   * prefix too long for SageMaker's 63 characters is cut and given an 8-hex hash of the whole, so
   * two biomes never share names; the time keeps one biome's jobs apart (one start per second).
   */
  trainingJobName(now: Date): string {
    const time = now.toISOString().replace(/[-:T]/g, '').slice(0, TRAINING_JOB_TIME_LENGTH);
    const prefix = this.trainingJobPrefix;
    if (prefix.length + time.length <= 63) return `${prefix}${time}`;
    let h = 0x811c9dc5; // FNV-1a: short, stable, no crypto import in this pure module
    for (const c of prefix) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    return `${prefix.slice(0, 63 - time.length - 10)}-${h.toString(16).padStart(8, '0')}-${time}`;
  }

  /**
   * The workflow's log group. Step Functions adds every log group it writes to to the account's
   * CloudWatch Logs resource policy (5,120 characters at most) unless the name starts with
   * `/aws/vendedlogs/`: with a generated name every new sandpit would grow that policy until deploys fail.
   */
  get workflowLogGroupName(): string {
    return `/aws/vendedlogs/states/${this.stackName}-workflow`;
  }
}
