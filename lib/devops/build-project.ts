/*
 * One build definition, instantiated once per pipeline (release, sandpit), not one shared project: a
 * sandpit run executes its branch's own buildspec with its project's role, so only separate projects,
 * each writing its own pipeline's artifact bucket and key, keep a sandpit branch away from the bytes
 * that are promoted to staging and prod.
 */
import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledgeWildcards, codeBuildDefaultFindings } from '../common/nag';
import { type LogSettings, newLogGroup } from '../common/logs';

/** The buildspec, read from the source artifact (the repository root), so it changes with the code it builds. */
export const BUILD_SPEC_PATH = 'lib/devops/buildspec/build.yml';

/** Names of the variables the pipelines set on the build action (build.yml reads them). */
export const BUILD_ENV = {
  commitSha: 'COMMIT_SHA',
  branch: 'BRANCH',
  /** `release` or `sandpit`: a sandpit build first checks that the branch names a valid biome. */
  pipelineKind: 'PIPELINE_KIND',
  /** Sandpit builds: the owners topic a failed build tells the sandpit's owner through. */
  ownersTopicArn: 'OWNERS_TOPIC_ARN',
} as const;

/**
 * Names of the variables build.yml exports (`env.exported-variables`); CodePipeline keeps their values
 * with the execution, apart from the output artifact, and later actions read them as
 * `#{<build namespace>.<name>}`.
 */
export const BUILD_EXPORTS = {
  /** sha256 of dist/manifest.json as the build wrote it; publish.sh refuses a manifest with any other hash. */
  manifestSha256: 'MANIFEST_SHA256',
} as const;

/** The two pipelines; each has its own build project and its own artifact bucket and key. */
export type PipelineKind = 'release' | 'sandpit';

export interface BuildProjectProps {
  /** The pipeline this instance of the build serves (descriptions only: the definition is the same). */
  readonly pipelineKind: PipelineKind;
  /** Key of that pipeline's artifacts; the build encrypts its output with it. */
  readonly artifactsKey: kms.IKey;
  /** Days the build logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /**
   * Compute of the build; the test suite runs a real PostgreSQL and full synths.
   * @default codebuild.ComputeType.MEDIUM
   */
  readonly computeType?: codebuild.ComputeType;
}

/**
 * The build of Biomes (test + package) on ARM, one instance per pipeline with the same buildspec and
 * settings. Its role gets only what CodePipeline grants a build action in its own pipeline (read the
 * source artifact, write its output artifact) plus its logs: it runs a branch's code, so it must reach
 * neither a release bucket nor the other pipeline's artifacts.
 */
export class BuildProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: BuildProjectProps) {
    super(scope, id);
    const logGroup = newLogGroup(this, 'Logs', props.logs);
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes (${props.pipelineKind} pipeline): test and package every microservice and model of one commit`,
      buildSpec: codebuild.BuildSpec.fromSourceFilename(BUILD_SPEC_PATH),
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: props.computeType ?? codebuild.ComputeType.MEDIUM,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      timeout: Duration.minutes(30),
    });
    acknowledgeWildcards(
      this.project,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
  }
}
