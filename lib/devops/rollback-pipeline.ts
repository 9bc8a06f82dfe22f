/**
 * One-command rollback (issue 13 item 3): per environment, a CodePipeline V2 pipeline
 * `<app>-rollback-<env>` with the pipeline variables `env`, `biome`, `name` and `sha`, which puts an
 * earlier commit of one service or model live again without a rebuild and without passing through the
 * earlier environments:
 *
 *   Source (the repository, never triggered: CodePipeline needs a source stage) -> Check -> [Approve,
 *   in a protected environment] -> Republish
 *
 * Check refuses, before any change, a SHA that was never published to that environment or has expired
 * (naming the SHAs that are there); Republish publishes the same object again with a new
 * `published-at` (lib/devops/buildspec/rollback.sh), so the deploy trigger puts it live by the usual
 * path (smoke check or validation on the endpoint; the ledger records `previousSha`). Started by
 * `npm run rollback -- --env prod --service ingest --to <sha>` (scripts/rollback.ts).
 *
 * Why one pipeline per environment: the approval belongs to prod alone, and a pipeline's stages are
 * fixed; one project per environment also means its role can reach that environment's release bucket
 * only. That role may write the bucket only by copying an object of the same bucket onto a key
 * (`s3:x-amz-copy-source`, Service Authorization Reference, Amazon S3 PutObject), so it can re-publish
 * what was published there and nothing else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { EnvironmentDefinition } from '../../lambda/shared/environments';
import { MAINLINE_BIOME } from '../../lambda/shared/grammar';
import { type LogSettings, newLogGroup } from '../common/logs';
import {
  acknowledgeWildcards,
  artifactGrantFindings,
  codeBuildDefaultFindings,
  objectsOf,
} from '../common/nag';
import type { BiomesConfig } from '../config';
import { repositorySource } from './pipelines';
import { ROLLBACK_VARIABLES, rollbackPipelineName } from './rollback-contract';
import { plainVariables, publishContractVariables, scriptCommands } from './publish-project';

/** The script both rollback steps run; kept as a file so it can be read, linted and tested. */
export const ROLLBACK_SCRIPT = path.join(__dirname, 'buildspec', 'rollback.sh');

/** Names of the variables the rollback script reads. */
export const ROLLBACK_ENV = {
  step: 'ROLLBACK_STEP',
  env: 'ROLLBACK_ENV',
  biome: 'ROLLBACK_BIOME',
  name: 'ROLLBACK_NAME',
  sha: 'ROLLBACK_SHA',
  pipelineExecutionId: 'PIPELINE_EXECUTION_ID',
} as const;

export interface RollbackPipelineProps {
  readonly appName: string;
  readonly env: EnvironmentDefinition;
  /** The repository (CodePipeline needs a source stage; nothing of it is used). */
  readonly source: BiomesConfig['source'];
  readonly releaseBucket: s3.IBucket;
  readonly releaseKey: kms.IKey;
  /** Artifact store of the pipeline (the release pipeline's) and its key. */
  readonly artifactBucket: s3.IBucket;
  readonly artifactsKey: kms.IKey;
  readonly logs: LogSettings;
  /** Failed executions and pending approvals. */
  readonly topic: sns.ITopic;
}

export class RollbackPipeline extends Construct {
  readonly pipeline: codepipeline.Pipeline;
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: RollbackPipelineProps) {
    super(scope, id);
    const { env, releaseBucket } = props;
    const script = fs.readFileSync(ROLLBACK_SCRIPT, 'utf8');

    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: roll a service or model of ${env.name} back to an earlier commit published there`,
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup: newLogGroup(this, 'Logs', props.logs) } },
      environmentVariables: plainVariables({
        ...publishContractVariables(),
        ENV_NAME: env.name,
        RELEASE_BUCKET: releaseBucket.bucketName,
        RELEASE_KEY_ARN: props.releaseKey.keyArn,
      }),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          build: { commands: scriptCommands('rollback', script) },
        },
      }),
    });
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPublished',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [releaseBucket.arnForObjects('*')],
      }),
    );
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListPublished',
        actions: ['s3:ListBucket'],
        resources: [releaseBucket.bucketArn],
      }),
    );
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RepublishOnlyWhatIsThere',
        actions: ['s3:PutObject'],
        resources: [releaseBucket.arnForObjects('*')],
        conditions: { StringLike: { 's3:x-amz-copy-source': [`${releaseBucket.bucketName}/*`] } },
      }),
    );
    props.releaseKey.grant(this.project, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledgeWildcards(
      this.project,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
    acknowledgeWildcards(
      this.project,
      [objectsOf(releaseBucket)],
      `The object to roll back is named by the execution's variables; writes are copies of objects of the ${env.name} release bucket only (s3:x-amz-copy-source).`,
    );

    const variable = (name: string, description: string, defaultValue?: string) =>
      new codepipeline.Variable({
        variableName: name,
        description,
        ...(defaultValue !== undefined ? { defaultValue } : {}),
      });
    const variables = {
      env: variable(
        ROLLBACK_VARIABLES.env,
        `Must be ${env.name}: this pipeline rolls back ${env.name} only`,
        env.name,
      ),
      biome: variable(ROLLBACK_VARIABLES.biome, 'The biome (main, or a sandpit)', MAINLINE_BIOME),
      name: variable(ROLLBACK_VARIABLES.name, 'The service or model to roll back'),
      sha: variable(ROLLBACK_VARIABLES.sha, 'The commit to put live again (40 hex)'),
    };
    const step = (name: 'Check' | 'Republish', s: 'check' | 'publish') =>
      new actions.CodeBuildAction({
        actionName: name,
        project: this.project,
        input: sourceOutput,
        environmentVariables: {
          [ROLLBACK_ENV.step]: { value: s },
          [ROLLBACK_ENV.env]: { value: variables.env.reference() },
          [ROLLBACK_ENV.biome]: { value: variables.biome.reference() },
          [ROLLBACK_ENV.name]: { value: variables.name.reference() },
          [ROLLBACK_ENV.sha]: { value: variables.sha.reference() },
          [ROLLBACK_ENV.pipelineExecutionId]: { value: codepipeline.GlobalVariables.executionId },
        },
      });
    const sourceOutput = new codepipeline.Artifact('Source');
    const stages: codepipeline.StageProps[] = [
      {
        stageName: 'Source',
        actions: [
          repositorySource(props.source, {
            actionName: 'Source',
            output: sourceOutput,
            triggerOnPush: false,
          }),
        ],
      },
      { stageName: 'Check', actions: [step('Check', 'check')] },
    ];
    if (env.protected) {
      stages.push({
        stageName: 'Approve',
        actions: [
          new actions.ManualApprovalAction({
            actionName: 'Approve',
            additionalInformation: `Roll ${variables.biome.reference()}/${variables.name.reference()} of ${env.name} back to ${variables.sha.reference()} (published there before; the Check stage's log shows when).`,
          }),
        ],
      });
    }
    stages.push({ stageName: 'Republish', actions: [step('Republish', 'publish')] });

    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineName: rollbackPipelineName(props.appName, env.name),
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket: props.artifactBucket,
      restartExecutionOnUpdate: false,
      variables: Object.values(variables),
      stages,
    });
    this.pipeline.notifyOn('Notify', props.topic, {
      events: [
        codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
        codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_SUCCEEDED,
        ...(env.protected ? [codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED] : []),
      ],
    });
    const reason =
      "CDK-generated CodePipeline grant on the pipeline's own artifact bucket and key; artifact object keys are generated per execution.";
    for (const s of [this, this.project, ...(this.project.role ? [this.project.role] : [])]) {
      acknowledgeWildcards(s, artifactGrantFindings(props.artifactBucket), reason);
    }
  }
}
