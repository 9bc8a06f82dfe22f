import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeWildcards, artifactGrantFindings } from '../common/nag';
import type { EnvironmentDefinition } from '../../lambda/shared/environments';
import { MAINLINE_BIOME } from '../../lambda/shared/grammar';
import type { BiomesConfig } from '../config';
import { SANDPIT_BRANCH_GLOB, SANDPIT_BRANCH_PREFIX } from './branches';
import { BUILD_ENV, BUILD_EXPORTS, type PipelineKind } from './build-project';
import { PUBLISH_ENV } from './publish-project';
import { SANDPIT_PROJECT_ENV, type SandpitStep } from './sandpit-deploy-project';

/** Namespace of the source action's variables (`#{Source.CommitId}`, `#{Source.BranchName}`). */
export const SOURCE_NAMESPACE = 'Source';
/** Namespace of the build action's exported variables (`#{Build.MANIFEST_SHA256}`). */
export const BUILD_NAMESPACE = 'Build';

/** What one pipeline has to itself. */
export interface PipelineResources {
  /** Bucket of this pipeline's artifacts, encrypted with its own key; no other pipeline uses it. */
  readonly artifactBucket: s3.IBucket;
  /** This pipeline's instance of the test + package build (lib/devops/build-project.ts). */
  readonly buildProject: codebuild.IProject;
}

export interface PipelinesProps {
  /** The Git source: CodeConnections connection, `<owner>/<repo>`, release branch. */
  readonly source: BiomesConfig['source'];
  /**
   * The environments in promotion order: the release pipeline publishes to each in turn, behind a
   * manual approval where `approvalBefore`; the sandpit pipeline publishes to the first only.
   */
  readonly environments: readonly EnvironmentDefinition[];
  /** Artifact store and build of each pipeline: a sandpit run never touches release artifacts. */
  readonly resources: Readonly<Record<PipelineKind, PipelineResources>>;
  /** One publish project per environment, by name: the release pipeline's. */
  readonly publishProjects: Readonly<Record<string, codebuild.IProject>>;
  /** The sandpit pipeline's own publish project (first environment), which IAM denies `main/`. */
  readonly sandpitPublishProject: codebuild.IProject;
  /** The sandpit pipeline's deploy-and-verify project (first environment), through the sandpit deployer. */
  readonly sandpitDeployProject: codebuild.IProject;
  /** One infrastructure project per environment (`cdk deploy` of its shared and main stacks), by name. */
  readonly infrastructureProjects: Readonly<Record<string, codebuild.IProject>>;
  /** One verify project per environment (ledger wait and integration test), by name. */
  readonly verifyProjects: Readonly<Record<string, codebuild.IProject>>;
  /** The first environment's sandpit owners topic: a failed sandpit build tells the owner there. */
  readonly ownersTopicArn: string;
  /** Topic for failed executions and pending approvals. */
  readonly topic: sns.ITopic;
}

/**
 * CodeStarConnectionsSourceAction whose role may use the connection under either service prefix.
 * CDK grants `codestar-connections:UseConnection` only, but IAM authorizes a connection against the
 * prefix of its ARN, and connections created since the rename are `arn:aws:codeconnections:...`.
 */
class ConnectionSourceAction extends actions.CodeStarConnectionsSourceAction {
  private readonly connection: string;

  constructor(props: actions.CodeStarConnectionsSourceActionProps) {
    super(props);
    this.connection = props.connectionArn;
  }

  protected bound(
    scope: Construct,
    stage: codepipeline.IStage,
    options: codepipeline.ActionBindOptions,
  ): codepipeline.ActionConfig {
    const config = super.bound(scope, stage, options);
    options.role.addToPrincipalPolicy(this.useConnection());
    return config;
  }

  /**
   * With `codeBuildCloneOutput`, the CodeBuild project that takes the output clones the repository with
   * its own role (CDK's CodeBuildAction grants it `codestar-connections:UseConnection` only): the same
   * grant under the new prefix.
   */
  grantClone(project: codebuild.IProject): void {
    project.addToRolePolicy(this.useConnection());
  }

  private useConnection(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions: ['codeconnections:UseConnection'],
      resources: [this.connection],
    });
  }
}

/** A source action on the configured repository and branch (`owner/name` split for CodePipeline). */
export function repositorySource(
  source: BiomesConfig['source'],
  props: Omit<actions.CodeStarConnectionsSourceActionProps, 'connectionArn' | 'owner' | 'repo' | 'branch'>,
): ConnectionSourceAction {
  const slash = source.repository.lastIndexOf('/');
  return new ConnectionSourceAction({
    ...props,
    connectionArn: source.connectionArn,
    owner: source.repository.slice(0, slash),
    repo: source.repository.slice(slash + 1),
    branch: source.branch,
  });
}

/** The steps of a release in each environment, in order (docs/design.md "Accounts and flow"). */
export const RELEASE_STEPS = ['Infrastructure', 'Publish', 'Verify'] as const;

/** `PublishDev`, `ApproveStaging`, ...: a stage name from a step and an environment. */
export function stageName(action: 'Approve' | (typeof RELEASE_STEPS)[number], env: string): string {
  return `${action}${env.charAt(0).toUpperCase()}${env.slice(1)}`;
}

/** Names of the build's output artifacts; build.yml names its secondary artifacts the same. */
export const BUILD_ARTIFACTS = {
  /** dist/: the packages and their manifest, published unchanged to each environment. */
  packages: 'Packages',
  /** cdk.out/: the cloud assembly synthesized once, deployed unchanged to each environment. */
  assembly: 'Assembly',
  /** tools/: the pipeline's own tools (the verify step), bundled from the tested commit. */
  tools: 'Tools',
} as const;

/**
 * The two CodePipeline V2 pipelines of docs/design.md: `release` (release branch -> every environment
 * in promotion order, with an approval where the config asks) and `sandpit` (`sandpit/*` -> the first
 * environment's <biome>, in
 * parallel mode so two developers never wait for each other). Both build once and publish the
 * build's output artifact: a promotion copies the same bytes, it never rebuilds. Each pipeline has
 * its own artifact bucket and build project, so a sandpit run cannot read or replace what the release
 * pipeline promotes.
 */
export class Pipelines extends Construct {
  readonly release: codepipeline.Pipeline;
  readonly sandpit: codepipeline.Pipeline;

  constructor(scope: Construct, id: string, props: PipelinesProps) {
    super(scope, id);

    this.release = this.pipeline('Release', 'release', props, codepipeline.ExecutionMode.SUPERSEDED);
    this.sandpit = this.pipeline('Sandpit', 'sandpit', props, codepipeline.ExecutionMode.PARALLEL);

    // CDK grants every role that reads or writes a pipeline's artifacts on that pipeline's bucket and key.
    const reason =
      "CDK-generated CodePipeline grant on the pipeline's own artifact bucket and key; artifact object keys are generated per execution.";
    const users: Record<PipelineKind, codebuild.IProject[]> = {
      release: [
        props.resources.release.buildProject,
        ...Object.values(props.publishProjects),
        ...Object.values(props.infrastructureProjects),
        ...Object.values(props.verifyProjects),
      ],
      sandpit: [
        props.resources.sandpit.buildProject,
        props.sandpitPublishProject,
        props.sandpitDeployProject,
      ],
    };
    for (const kind of ['release', 'sandpit'] as const) {
      // A project's role may be its own child or (a named role) a sibling: acknowledge on both.
      for (const scope of [this, ...users[kind].flatMap((p) => (p.role ? [p, p.role] : [p]))]) {
        acknowledgeWildcards(scope, artifactGrantFindings(props.resources[kind].artifactBucket), reason);
      }
    }
  }

  private pipeline(
    id: string,
    kind: PipelineKind,
    props: PipelinesProps,
    executionMode: codepipeline.ExecutionMode,
  ): codepipeline.Pipeline {
    const sourceOutput = new codepipeline.Artifact('Source');
    const buildOutput = new codepipeline.Artifact(BUILD_ARTIFACTS.packages);
    const assembly = new codepipeline.Artifact(BUILD_ARTIFACTS.assembly);
    const tools = new codepipeline.Artifact(BUILD_ARTIFACTS.tools);
    const { artifactBucket, buildProject } = props.resources[kind];
    // With a push trigger the configured branch is only the branch of a manual start. A manual start
    // of the sandpit pipeline therefore builds the release branch, which its build and publish refuse:
    // sandpit runs come from pushes to sandpit/<biome> only.
    const source = repositorySource(props.source, {
      actionName: 'Source',
      output: sourceOutput,
      variablesNamespace: SOURCE_NAMESPACE,
      // A sandpit build needs the Git metadata: the branch commit's author email is the sandpit's owner.
      codeBuildCloneOutput: kind === 'sandpit',
    });
    const commonEnv = {
      [PUBLISH_ENV.commitSha]: { value: source.variables.commitId },
      [PUBLISH_ENV.branch]: { value: source.variables.branchName },
    };

    if (kind === 'sandpit') source.grantClone(buildProject);
    const build = new actions.CodeBuildAction({
      actionName: 'TestAndPackage',
      project: buildProject,
      input: sourceOutput,
      outputs: [buildOutput, assembly, tools],
      environmentVariables: {
        [BUILD_ENV.commitSha]: { value: source.variables.commitId },
        [BUILD_ENV.branch]: { value: source.variables.branchName },
        [BUILD_ENV.pipelineKind]: { value: kind },
        ...(kind === 'sandpit' ? { [BUILD_ENV.ownersTopicArn]: { value: props.ownersTopicArn } } : {}),
      },
      variablesNamespace: BUILD_NAMESPACE,
    });

    const publishers: codebuild.IProject[] = [];
    const publish = (env: string) => {
      const project = kind === 'release' ? publishProject(props, env) : props.sandpitPublishProject;
      publishers.push(project);
      return new actions.CodeBuildAction({
        actionName: `Publish-${env}`,
        project,
        input: buildOutput,
        environmentVariables: {
          ...commonEnv,
          [PUBLISH_ENV.pipelineExecutionId]: { value: codepipeline.GlobalVariables.executionId },
          // Kept by CodePipeline, not in the artifact: publish.sh checks the manifest against it.
          [PUBLISH_ENV.manifestSha256]: { value: build.variable(BUILD_EXPORTS.manifestSha256) },
          ...(kind === 'release'
            ? {
                [PUBLISH_ENV.biome]: { value: MAINLINE_BIOME },
                // The publisher refuses a commit of any other branch (a manual start on another branch).
                [PUBLISH_ENV.releaseBranch]: { value: props.source.branch },
              }
            : { [PUBLISH_ENV.sandpitBranchPrefix]: { value: SANDPIT_BRANCH_PREFIX } }),
        },
      });
    };
    const approve = (env: string, previous: string) =>
      new actions.ManualApprovalAction({
        actionName: `Approve-${env}`,
        additionalInformation: `Promote the artifacts already published to ${previous} to ${env} (the same bytes, no rebuild).`,
      });

    const infrastructure = (env: string) =>
      new actions.CodeBuildAction({
        actionName: `Infrastructure-${env}`,
        project: projectOf(props.infrastructureProjects, env, 'infrastructure'),
        input: assembly,
      });
    const verify = (env: string) =>
      new actions.CodeBuildAction({
        actionName: `Verify-${env}`,
        project: projectOf(props.verifyProjects, env, 'verify'),
        // manifest.json is the working directory; the tool is $CODEBUILD_SRC_DIR_Tools.
        input: buildOutput,
        extraInputs: [tools],
        environmentVariables: { [PUBLISH_ENV.commitSha]: { value: source.variables.commitId } },
      });

    const stages: codepipeline.StageProps[] = [
      { stageName: 'Source', actions: [source] },
      { stageName: 'Build', actions: [build] },
    ];
    if (kind === 'release') {
      // Every environment in promotion order: its infrastructure (and migrations) first, then the
      // artifacts, then the proof. Separate stages, so a newer release can supersede an older one
      // between them (the older one's verify then ends, moving nothing back).
      props.environments.forEach((env, i) => {
        const previous = props.environments[i - 1];
        if (env.approvalBefore && previous) {
          stages.push({
            stageName: stageName('Approve', env.name),
            actions: [approve(env.name, previous.name)],
          });
        }
        stages.push(
          { stageName: stageName('Infrastructure', env.name), actions: [infrastructure(env.name)] },
          { stageName: stageName('Publish', env.name), actions: [publish(env.name)] },
          { stageName: stageName('Verify', env.name), actions: [verify(env.name)] },
        );
      });
    } else {
      // The sandpit pipeline goes to the first environment only, the same three steps as a release:
      // the biome stack from the build's assembly through the sandpit deployer, then the artifacts,
      // then the wait for the ledger.
      const first = firstEnv(props).name;
      const sandpitStep = (step: SandpitStep, input: codepipeline.Artifact) =>
        new actions.CodeBuildAction({
          actionName: `${step === 'deploy' ? 'Infrastructure' : 'Verify'}-${first}`,
          project: props.sandpitDeployProject,
          input,
          extraInputs: [tools],
          environmentVariables: {
            [SANDPIT_PROJECT_ENV.step]: { value: step },
            [SANDPIT_PROJECT_ENV.branch]: { value: source.variables.branchName },
            [PUBLISH_ENV.commitSha]: { value: source.variables.commitId },
          },
        });
      stages.push(
        { stageName: stageName('Infrastructure', first), actions: [sandpitStep('deploy', assembly)] },
        { stageName: stageName('Publish', first), actions: [publish(first)] },
        { stageName: stageName('Verify', first), actions: [sandpitStep('verify', buildOutput)] },
      );
    }

    const pipeline = new codepipeline.Pipeline(this, id, {
      pipelineType: codepipeline.PipelineType.V2,
      executionMode,
      artifactBucket,
      restartExecutionOnUpdate: false,
      stages,
      triggers: [
        {
          providerType: codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
          gitConfiguration: {
            sourceAction: source,
            pushFilter: [
              { branchesIncludes: [kind === 'release' ? props.source.branch : SANDPIT_BRANCH_GLOB] },
            ],
          },
        },
      ],
    });

    // publish.sh stamps published-at with the start time of the execution it publishes, which it
    // reads from the execution history of the pipeline that started it (CODEBUILD_INITIATOR).
    for (const project of new Set(publishers)) {
      project.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['codepipeline:ListPipelineExecutions'],
          resources: [pipeline.pipelineArn],
        }),
      );
    }

    pipeline.notifyOn('Notify', props.topic, {
      events:
        kind === 'release'
          ? [
              codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
              codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
            ]
          : [codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED],
    });
    return pipeline;
  }
}

function firstEnv(props: PipelinesProps): EnvironmentDefinition {
  const first = props.environments[0];
  if (!first) throw new Error('Pipelines: at least one environment is needed');
  return first;
}

function publishProject(props: PipelinesProps, env: string): codebuild.IProject {
  return projectOf(props.publishProjects, env, 'publish');
}

function projectOf(
  projects: Readonly<Record<string, codebuild.IProject>>,
  env: string,
  what: string,
): codebuild.IProject {
  const project = projects[env];
  if (!project) throw new Error(`Pipelines: no ${what} project for environment "${env}"`);
  return project;
}
