/**
 * The biome's train workflow: the synthesized definition run with aws-local-stepfunctions, its Lambda
 * tasks bound to the real model-retrain handler (S3 and SSM mocked with aws-sdk-client-mock) and the
 * SageMaker .sync task replaced by a stand-in; and the template's training job and IAM fences.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import 'aws-sdk-client-mock-jest';
import { ExecutionError } from 'aws-local-stepfunctions';
import type * as HandlerModule from '../../lambda/model-retrain/handler';
import { RETRAIN_ERRORS } from '../../lambda/model-retrain/errors';
import { retrainingId } from '../../lambda/shared/model-archive';
import { BiomeScope } from '../../lambda/shared/scope';
import { wildcardMatches } from '../fixtures/sdk-calls';
import {
  TRAIN_STATES,
  TrainWorkflow,
  type TrainWorkflowProps,
} from '../../lib/workload/biome/train-workflow';
import { placeOf, testApp, unacknowledgedFindings } from '../fixtures/config';
import { lambdaContext } from '../lambda/shared/lambda-context';
import { type Json, type LocalRun, NamedError, entered, runLocally } from './local-run';
import {
  COMMIT,
  DATA_PREFIX,
  ENVIRONMENT,
  FAILING_METRICS,
  JOB_NAME,
  LANDING_BUCKET,
  LANDING_KEY_ARN,
  LIVE_KEY,
  MODEL,
  MODEL_BUCKET,
  MODEL_KEY_ARN,
  type Mocks,
  NOW,
  OTHER_MODEL,
  PASSING_METRICS,
  type World,
  mockWorld,
  trainingOutput,
} from '../lambda/model-retrain/fixtures';

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const IMAGE = '141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3';

function build(biome = 'alice', overrides: Partial<TrainWorkflowProps> = {}) {
  const stack = new Stack(testApp(), 'Biome', { env: { account: ACCOUNT, region: REGION } });
  const place = placeOf(stack, biome);
  const models = overrides.models ?? [MODEL, OTHER_MODEL];
  const pointers = Object.fromEntries(
    models.map((m) => [
      m,
      ssm.StringParameter.fromStringParameterName(stack, `Pointer-${m}`, place.names.modelPointer(m)),
    ]),
  );
  const workflow = new TrainWorkflow(stack, 'Train', {
    names: place.names,
    logs: place.logs,
    models,
    pointers,
    modelBucketName: MODEL_BUCKET,
    modelKeyArn: MODEL_KEY_ARN,
    landingBucketName: LANDING_BUCKET,
    landingKeyArn: LANDING_KEY_ARN,
    trainingImage: IMAGE,
    instanceType: 'ml.m5.large',
    ...overrides,
  });
  return { stack, workflow, template: Template.fromStack(stack) };
}

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
};

/** Resolves the definition's Fn::Join: partition, account and region literal, each GetAtt a fake ARN of its resource. */
function resolveDefinition(template: Template): Json {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  expect(Object.keys(machines)).toHaveLength(1);
  const definition = Object.values(machines)[0]?.Properties.DefinitionString as
    string | { 'Fn::Join': [string, (string | Json)[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as Json;
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  const text = definition['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      if ('Ref' in part) return PSEUDO[part.Ref as string];
      const [id] = part['Fn::GetAtt'] as [string, string];
      return resources[id]?.Type === 'AWS::Lambda::Function'
        ? `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`
        : `arn:aws:iam::${ACCOUNT}:role/${id}`;
    })
    .join('');
  return JSON.parse(text) as Json;
}

const { template } = build();
const definition = resolveDefinition(template);
const states = definition.States as Record<string, Json>;

let handler: typeof HandlerModule.handler;
const saved = { ...process.env };
beforeAll(() => {
  Object.assign(process.env, ENVIRONMENT, { AWS_REGION: REGION, POWERTOOLS_LOG_LEVEL: 'SILENT' });
  ({ handler } = jest.requireActual<typeof HandlerModule>('../../lambda/model-retrain/handler'));
  // Only the clock: the job is named after the time; the runner's own timers stay real.
  jest.useFakeTimers({
    now: NOW,
    doNotFake: [
      'nextTick',
      'setImmediate',
      'setTimeout',
      'setInterval',
      'clearTimeout',
      'clearInterval',
      'queueMicrotask',
    ],
  });
});
afterAll(() => {
  jest.useRealTimers();
  process.env = { ...saved };
});

/**
 * The real handler as Lambda runs it for Step Functions: an error reaches the state machine as
 * Error = its name and Cause = Lambda's JSON of it (`errorType`, `errorMessage`, `trace`).
 */
async function lambdaTask(input: Json): Promise<Json> {
  try {
    return (await handler(input, lambdaContext())) as unknown as Json;
  } catch (e) {
    const error = e as Error;
    throw new NamedError(
      error.name,
      JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] }),
    );
  }
}

interface Outcome extends LocalRun {
  /** The CreateTrainingJob request the Train task made (undefined: never reached). */
  readonly job?: Json;
}

let mocks: Mocks | undefined;
afterEach(() => mocks?.restore());

/**
 * Runs the workflow on `input` in `world`. `train` stands in for SageMaker's .sync integration: it
 * gets the CreateTrainingJob request and returns the job's description, or throws as the task fails.
 */
async function execute(
  input: unknown,
  world: World = {},
  train: (request: Json) => Promise<Json> = () => Promise.resolve({ TrainingJobStatus: 'Completed' }),
): Promise<Outcome> {
  mocks = mockWorld(world);
  let job: Json | undefined;
  const context = {
    Execution: {
      Id: 'arn:aws:states:eu-west-1:222222222222:execution:x:retrain-1',
      Name: 'retrain-1',
      Input: input,
      StartTime: NOW.toISOString(),
    },
  };
  const handlers = {
    [TRAIN_STATES.prepare]: lambdaTask,
    [TRAIN_STATES.deliver]: lambdaTask,
    [TRAIN_STATES.train]: (request: Json) => {
      job = request;
      return train(request);
    },
  };
  const run = await runLocally(definition, input, {
    handlers,
    noRetryWait: [TRAIN_STATES.prepare, TRAIN_STATES.deliver],
    context,
  });
  return { ...run, job };
}

function failed(outcome: Outcome): { Error: string; Cause: string } {
  expect(outcome.error).toBeInstanceOf(ExecutionError);
  const event = outcome.events.find((e) => e.type === 'ExecutionFailed') as { Error: string; Cause: string };
  return event;
}

const ID = retrainingId(COMMIT, JOB_NAME);
const KEY = `alice/${MODEL}-${ID}.tar.gz`;

describe('runs', () => {
  test('(a) passes its bar: Delivered, and the landing bucket gets the archive under its retraining id', async () => {
    const outcome = await execute({ model: MODEL });
    expect(outcome.error).toBeUndefined();
    expect(outcome.output).toEqual({ key: KEY, id: ID, metrics: PASSING_METRICS });
    expect(entered(outcome.events)).toEqual([
      TRAIN_STATES.prepare,
      TRAIN_STATES.train,
      TRAIN_STATES.deliver,
      TRAIN_STATES.delivered,
    ]);
    expect(mocks!.s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(mocks!.s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: LANDING_BUCKET,
      Key: KEY,
      IfNoneMatch: '*',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: LANDING_KEY_ARN,
      Metadata: {
        'commit-sha': ID,
        branch: 'retrained',
        'published-at': '2025-03-01T12:00:00Z',
        'pipeline-execution-id': 'retrain-1',
        'retrained-from': COMMIT,
        'training-data': `s3://${MODEL_BUCKET}/${DATA_PREFIX}`,
        'training-job': JOB_NAME,
      },
    });
  });

  test('the training job runs the live archive in script mode, on the biome data, isolated', async () => {
    const { job } = await execute({ model: MODEL });
    expect(job).toMatchObject({
      TrainingJobName: JOB_NAME,
      EnableNetworkIsolation: true,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      HyperParameters: {
        sagemaker_program: '"train.py"',
        sagemaker_submit_directory: `"/opt/ml/input/data/code/${MODEL}-${COMMIT}.tar.gz"`,
      },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: {
            S3DataSource: { S3Uri: `s3://${MODEL_BUCKET}/${DATA_PREFIX}`, S3DataType: 'S3Prefix' },
          },
        },
        {
          ChannelName: 'code',
          DataSource: { S3DataSource: { S3Uri: `s3://${MODEL_BUCKET}/${LIVE_KEY}`, S3DataType: 'S3Prefix' } },
        },
      ],
      OutputDataConfig: {
        S3OutputPath: `s3://${MODEL_BUCKET}/training-output/alice/`,
        KmsKeyId: MODEL_KEY_ARN,
      },
    });
    // What the toolkit does with them: JSON-decoded, the program and a local tarball to extract.
    const hp = job!.HyperParameters as Record<string, string>;
    expect(JSON.parse(hp.sagemaker_program!)).toBe('train.py');
    expect(JSON.parse(hp.sagemaker_submit_directory!)).toBe(
      `/opt/ml/input/data/code/${MODEL}-${COMMIT}.tar.gz`,
    );
  });

  test('(b) below its bar: BelowBar with the metric, value and bar, and nothing is written', async () => {
    const outcome = await execute({ model: MODEL }, { output: trainingOutput(FAILING_METRICS) });
    expect(entered(outcome.events)).toContain(TRAIN_STATES.belowBar);
    expect(entered(outcome.events)).not.toContain(TRAIN_STATES.delivered);
    expect(failed(outcome)).toEqual({
      type: 'ExecutionFailed',
      timestamp: expect.any(Number),
      Error: RETRAIN_ERRORS.belowBar,
      Cause: `training job ${JOB_NAME} retrained demo-scorer from commit ${COMMIT}, and nothing was delivered:\nmodel "demo-scorer": accuracy is 0.61, below its bar of 0.8 (min)`,
    });
    expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  test('(c) the training job fails: TrainingFailed with the job and its failure reason', async () => {
    const outcome = await execute({ model: MODEL }, {}, (request) =>
      Promise.reject(
        new NamedError(
          'States.TaskFailed',
          JSON.stringify({
            TrainingJobName: request.TrainingJobName,
            TrainingJobStatus: 'Failed',
            FailureReason:
              'AlgorithmError: ExecuteUserScriptError: ExitCode 1 ErrorMessage "data/customers.csv line 7: income is not a number"',
          }),
        ),
      ),
    );
    expect(entered(outcome.events)).toEqual(
      expect.arrayContaining([TRAIN_STATES.readJobDescription, TRAIN_STATES.trainingFailed]),
    );
    const failure = failed(outcome);
    expect(failure.Error).toBe(TRAIN_STATES.trainingFailed);
    expect(failure.Cause).toBe(
      `training job ${JOB_NAME} failed: AlgorithmError: ExecuteUserScriptError: ExitCode 1 ErrorMessage "data/customers.csv line 7: income is not a number"`,
    );
    expect(entered(outcome.events)).not.toContain(TRAIN_STATES.deliver);
    expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  test('(c) a job that could not be created: TrainingFailed with the error as SageMaker gave it', async () => {
    const outcome = await execute({ model: MODEL }, {}, () =>
      Promise.reject(
        new NamedError(
          'SageMaker.ResourceLimitExceededException',
          'The account-level service limit is 0 Instances',
        ),
      ),
    );
    const failure = failed(outcome);
    expect(entered(outcome.events)).toContain(TRAIN_STATES.explainTrainingError);
    expect(failure.Error).toBe(TRAIN_STATES.trainingFailed);
    expect(failure.Cause).toMatch(new RegExp(`^training job ${JOB_NAME} did not run to the end: \\{`));
    expect(JSON.parse(failure.Cause.slice(failure.Cause.indexOf('{')))).toEqual({
      Error: 'SageMaker.ResourceLimitExceededException',
      Cause: 'The account-level service limit is 0 Instances',
    });
    expect(mocks!.s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  test('(d) no live model: CannotRetrain says to publish one first', async () => {
    const outcome = await execute({ model: MODEL }, { pointer: 'none' });
    expect(failed(outcome)).toMatchObject({
      Error: RETRAIN_ERRORS.noLiveModel,
      Cause: 'no model of demo-scorer is live in alice; publish one before retraining',
    });
    expect(entered(outcome.events)).toEqual([
      TRAIN_STATES.prepare,
      TRAIN_STATES.readRefusal,
      TRAIN_STATES.cannotRetrain,
    ]);
    expect(outcome.job).toBeUndefined();
  });

  test('(e) no training data: CannotRetrain names the prefix to upload to', async () => {
    const outcome = await execute({ model: MODEL }, { dataObjects: 0 });
    expect(failed(outcome)).toMatchObject({
      Error: RETRAIN_ERRORS.noTrainingData,
      Cause: `there is no training data for model demo-scorer in biome alice: upload CSV files to s3://${MODEL_BUCKET}/${DATA_PREFIX} and start again`,
    });
    expect(outcome.job).toBeUndefined();
  });

  test('an input without a model, or a model the biome does not serve, is refused by name', async () => {
    expect(failed(await execute({ modle: MODEL }))).toMatchObject({ Error: RETRAIN_ERRORS.badInput });
    expect(failed(await execute({ model: 'fraud' }))).toMatchObject({
      Error: RETRAIN_ERRORS.notServed,
      Cause: 'biome alice does not serve a model "fraud"; it serves demo-scorer, churn',
    });
  });
});

describe('template', () => {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const logicalId = (type: string, prefix: string) =>
    Object.keys(resources).find((id) => resources[id]!.Type === type && id.startsWith(prefix))!;
  /** The statements of the default policy of role `rolePrefix`, by Sid (unnamed ones by their actions). */
  const statementsOf = (t: Template, rolePrefix: string) => {
    const res = t.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
    const role = Object.keys(res).find(
      (id) => res[id]!.Type === 'AWS::IAM::Role' && id.startsWith(rolePrefix),
    )!;
    const policy = Object.values(res).find(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        (r.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === role),
    )!;
    return (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
  };
  const bySid = (statements: Json[]) =>
    Object.fromEntries(statements.map((s) => [s.Sid ?? JSON.stringify(s.Action), s]));

  test('the training job: image, channels, output and volume encrypted with the model key, instance, isolation, an hour', () => {
    const train = states[TRAIN_STATES.train]!;
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(train.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: TRAIN_STATES.whyTrainingFailed },
    ]);
    expect(train.Parameters).toEqual({
      'TrainingJobName.$': '$.prepared.jobName',
      EnableNetworkIsolation: true,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/${logicalId('AWS::IAM::Role', 'TrainTrainingRole')}`,
      AlgorithmSpecification: { TrainingInputMode: 'File', TrainingImage: IMAGE },
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          DataSource: {
            S3DataSource: {
              'S3Uri.$': '$.prepared.dataUri',
              S3DataType: 'S3Prefix',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
        {
          ChannelName: 'code',
          DataSource: {
            S3DataSource: {
              'S3Uri.$': '$.prepared.codeUri',
              S3DataType: 'S3Prefix',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
      ],
      OutputDataConfig: {
        S3OutputPath: `s3://${MODEL_BUCKET}/training-output/alice/`,
        KmsKeyId: MODEL_KEY_ARN,
      },
      ResourceConfig: {
        InstanceCount: 1,
        InstanceType: 'ml.m5.large',
        VolumeSizeInGB: 10,
        VolumeKmsKeyId: MODEL_KEY_ARN,
      },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      HyperParameters: {
        sagemaker_program: '"train.py"',
        'sagemaker_submit_directory.$': 'States.JsonToString($.prepared.submitDirectory)',
      },
      Tags: [
        { Key: 'app', Value: 'biomes' },
        { Key: 'env', Value: 'dev' },
        { Key: 'biome', Value: 'alice' },
      ],
    });
  });

  test('an instance type with local storage gets no volume key (SageMaker refuses one there)', () => {
    const local = resolveDefinition(build('alice', { instanceType: 'ml.m5d.large' }).template);
    const config = ((local.States as Record<string, Json>)[TRAIN_STATES.train]!.Parameters as Json)
      .ResourceConfig;
    expect(config).toEqual({ InstanceCount: 1, InstanceType: 'ml.m5d.large', VolumeSizeInGB: 10 });
  });

  test('the state machine: named, logged to its vended log group, traced, standard', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'biomes-dev-alice-train',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/biomes-dev-alice-train',
      KmsKeyId: 'arn:aws:kms:eu-west-1:222222222222:key/00000000-0000-4000-8000-000000000000',
    });
    expect(definition.TimeoutSeconds).toBe(5400);
  });

  test("the training role reads the biome's live models and data, writes its output, and nothing else", () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } },
        ],
      },
    });
    const logs = 'arn:aws:logs:eu-west-1:222222222222:log-group:/aws/sagemaker/TrainingJobs';
    expect(statementsOf(template, 'TrainTrainingRole')).toEqual([
      {
        Sid: 'ReadCodeAndData',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [
          // CDK sorts the resources of a statement.
          `arn:aws:s3:::${MODEL_BUCKET}/models/alice/*`,
          `arn:aws:s3:::${MODEL_BUCKET}/training-data/alice/churn/*`,
          `arn:aws:s3:::${MODEL_BUCKET}/training-data/alice/demo-scorer/*`,
        ],
      },
      {
        Sid: 'ListCodeAndData',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `arn:aws:s3:::${MODEL_BUCKET}`,
        Condition: {
          StringLike: {
            's3:prefix': [
              'models/alice/*',
              'training-data/alice/demo-scorer/*',
              'training-data/alice/churn/*',
            ],
          },
        },
      },
      {
        Sid: 'WriteOutput',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${MODEL_BUCKET}/training-output/alice/*`,
      },
      { Sid: 'DecryptInputs', Effect: 'Allow', Action: 'kms:Decrypt', Resource: MODEL_KEY_ARN },
      {
        Sid: 'TrainingLogGroup',
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
        Resource: [logs, `${logs}:*`],
      },
      {
        Sid: 'OwnLogStreams',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `${logs}:log-stream:biomes-dev-alice-??????????????/*`,
      },
      {
        Effect: 'Allow',
        Action: ['kms:CreateGrant', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: MODEL_KEY_ARN,
      },
    ]);
  });

  test("the state machine may run only the biome's jobs, pass only its training role, to SageMaker only", () => {
    const s = bySid(statementsOf(template, 'TrainStateMachineRole'));
    // Exactly the biome's names (prefix and 14 digits of time): not alice-b's jobs.
    const jobs = `arn:aws:sagemaker:${REGION}:${ACCOUNT}:training-job/biomes-dev-alice-??????????????`;
    expect(s.CreateIsolatedEncryptedJobs).toEqual({
      Sid: 'CreateIsolatedEncryptedJobs',
      Effect: 'Allow',
      Action: 'sagemaker:CreateTrainingJob',
      Resource: jobs,
      Condition: {
        Bool: { 'sagemaker:NetworkIsolation': 'true' },
        ArnEquals: { 'sagemaker:OutputKmsKeyArn': MODEL_KEY_ARN, 'sagemaker:VolumeKmsKeyArn': MODEL_KEY_ARN },
        // Only the environment's instance type, at most the job's stopping condition (an hour).
        'ForAllValues:StringEquals': { 'sagemaker:InstanceTypes': ['ml.m5.large'] },
        Null: { 'sagemaker:InstanceTypes': 'false' },
        NumericLessThanEquals: { 'sagemaker:MaxRuntimeInSeconds': 3600 },
      },
    });
    expect(s.FollowJobs).toMatchObject({
      Action: [
        'sagemaker:AddTags',
        'sagemaker:DescribeTrainingJob',
        'sagemaker:ListTags',
        'sagemaker:StopTrainingJob',
      ],
      Resource: jobs,
    });
    expect(s.PassTrainingRole).toEqual({
      Sid: 'PassTrainingRole',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'TrainTrainingRole'), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    // No statement reaches every training job or role (CDK's defaults for a job named from the state).
    const all = JSON.stringify(statementsOf(template, 'TrainStateMachineRole'));
    expect(all).not.toContain('training-job/*');
    expect(all).not.toMatch(/"iam:PassRole"[^}]*"Resource":"\*"/);
    for (const statement of statementsOf(template, 'TrainStateMachineRole')) {
      const actions = [statement.Action].flat() as string[];
      if (statement.Resource === '*')
        expect(actions.filter((a) => /^(sagemaker|iam|s3):/.test(a))).toEqual([]);
    }
  });

  test("the function reads the biome's pointers, live models, data listing and output, and writes its landing prefix", () => {
    const s = bySid(statementsOf(template, 'TrainFunctionRole'));
    expect(s.ReadLiveArchivesAndOutput).toMatchObject({
      Action: 's3:GetObject',
      Resource: [
        `arn:aws:s3:::${MODEL_BUCKET}/models/alice/*`,
        `arn:aws:s3:::${MODEL_BUCKET}/training-output/alice/*`,
      ],
    });
    expect(s.FindTrainingData).toMatchObject({
      Action: 's3:ListBucket',
      Resource: `arn:aws:s3:::${MODEL_BUCKET}`,
      Condition: {
        StringLike: { 's3:prefix': ['training-data/alice/demo-scorer/*', 'training-data/alice/churn/*'] },
      },
    });
    expect(s.DeliverToLanding).toMatchObject({
      Action: 's3:PutObject',
      Resource: `arn:aws:s3:::${LANDING_BUCKET}/alice/*`,
    });
    expect(s.EncryptDelivery).toMatchObject({ Action: 'kms:GenerateDataKey', Resource: LANDING_KEY_ARN });
    expect(s.DecryptModelLocation).toMatchObject({ Action: 'kms:Decrypt', Resource: MODEL_KEY_ARN });
    const pointerReads = statementsOf(template, 'TrainFunctionRole').filter((st) =>
      ([st.Action].flat() as string[]).includes('ssm:GetParameter'),
    );
    // One statement for both (CDK merges equal actions and sorts the resources).
    expect(pointerReads.map((st) => st.Resource)).toEqual([
      [
        `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/biomes/dev/alice/model-pointers/churn`,
        `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/biomes/dev/alice/model-pointers/demo-scorer`,
      ],
    ]);
  });

  test('the function: its own log group, the biome in its environment, built like every Biomes function', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          BIOMES_APP_NAME: 'biomes',
          BIOMES_ENV_NAME: 'dev',
          BIOMES_BIOME: 'alice',
          BIOMES_MODELS: 'demo-scorer,churn',
          BIOMES_MODEL_BUCKET: MODEL_BUCKET,
          BIOMES_MODEL_PREFIX: 'models/',
          BIOMES_LANDING_BUCKET: LANDING_BUCKET,
          BIOMES_LANDING_KEY_ARN: LANDING_KEY_ARN,
        },
      },
    });
  });

  test("another biome's workflow names nothing of alice's", () => {
    const bob = JSON.stringify(build('bob').template.toJSON());
    expect(bob).not.toMatch(/alice/);
    expect(bob).toContain('training-job/biomes-dev-bob-??????????????');
    expect(bob).toContain(`arn:aws:s3:::${MODEL_BUCKET}/models/bob/*`);
  });

  test("a biome whose name extends another's (alice-b) shares no job or log stream with it", () => {
    const alice = new BiomeScope('biomes', 'dev', 'alice');
    const aliceB = new BiomeScope('biomes', 'dev', 'alice-b');
    const theirs = aliceB.trainingJobName(new Date('2026-12-03T10:15:00Z'));
    expect(theirs.startsWith(alice.trainingJobPrefix)).toBe(true);
    expect(wildcardMatches(alice.trainingJobPattern, theirs)).toBe(false);
    expect(alice.isTrainingJobName(theirs)).toBe(false);
    const own = alice.trainingJobName(new Date('2026-12-03T10:15:00Z'));
    expect(wildcardMatches(alice.trainingJobPattern, own)).toBe(true);
    expect(alice.isTrainingJobName(own)).toBe(true);
  });

  test('no check finds anything unacknowledged', () => {
    const { stack } = build();
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });

  test.each<[string, Partial<TrainWorkflowProps>, RegExp]>([
    ['a model without a pointer', { pointers: {} }, /no pointer for model "demo-scorer"/],
    ['no model', { models: [] }, /models must name at least one model/],
    [
      'an instance type without ml.',
      { instanceType: 'm5.large' },
      /instanceType "m5.large" must be a SageMaker instance type/,
    ],
  ])('refuses %s, naming the prop', (_what, change, message) => {
    expect(() => build('alice', change)).toThrow(message);
  });
});
