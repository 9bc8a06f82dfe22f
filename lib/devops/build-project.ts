import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeWildcards, codeBuildDefaultFindings } from './nag';

/** The buildspec, read from the source artifact (the repository root), so it changes with the code it builds. */
export const BUILD_SPEC_PATH = 'lib/devops/buildspec/build.yml';

/** Names of the variables the pipelines set on the build action (build.yml reads them). */
export const BUILD_ENV = {
  commitSha: 'COMMIT_SHA',
  branch: 'BRANCH',
  /** `release` or `sandpit`: a sandpit build first checks that the branch names a valid biome. */
  pipelineKind: 'PIPELINE_KIND',
} as const;

export interface BuildProjectProps {
  /** Key of the pipeline artifacts; the build encrypts its output and logs with it. */
  readonly artifactsKey: kms.IKey;
  /** Days the build logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Compute of the build; the test suite runs a real PostgreSQL and full synths.
   * @default codebuild.ComputeType.MEDIUM
   */
  readonly computeType?: codebuild.ComputeType;
}

/**
 * The one build of Biomes (test + package), shared by the release and sandpit pipelines, on ARM.
 * Its role gets only what CodePipeline grants a build action (read the source artifact, write its
 * output artifact) plus its logs: it runs any branch's code, so it must not reach a release bucket.
 */
export class BuildProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: BuildProjectProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: 'Biomes: test and package every microservice and model of one commit',
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
