/**
 * The Verify action of an environment stage: runs scripts/verify-release.ts (bundled by the build as
 * the Tools artifact) with the environment's read-and-verify role, which trusts exactly this project's
 * role (named, because the workload account's trust policy names it). Its role may assume that one
 * role and nothing else; what the verify role may do is decided in the workload account
 * (lib/workload/biome/release-verifier.ts).
 */
import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { VERIFY_ENV } from './release/verify';
import { acknowledgeWildcards, codeBuildDefaultFindings } from '../common/nag';
import { type LogSettings, newLogGroup } from '../common/logs';
import { VERIFY_MARGIN_MINUTES } from '../config';

/** Name of the verify tool's bundle in the Tools artifact (scripts/build-tools.ts writes it). */
export const VERIFY_TOOL = 'verify-release';

export interface VerifyProjectProps {
  readonly appName: string;
  readonly envName: string;
  /** Name of this project's role; the workload verify role trusts exactly it. */
  readonly roleName: string;
  /** ARN of the environment's read-and-verify role, in the workload account. */
  readonly verifyRoleArn: string;
  /** How long to wait for the ledger. */
  readonly timeout: Duration;
  /** Key of the pipeline's artifacts (CodeBuild reads the packages and tools with it). */
  readonly artifactsKey: kms.IKey;
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
}

export class VerifyProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: VerifyProjectProps) {
    super(scope, id);
    const logGroup = newLogGroup(this, 'Logs', props.logs);
    const role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: `Biomes: verifies releases in ${props.envName} through ${props.verifyRoleArn}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeVerifyRole',
        actions: ['sts:AssumeRole'],
        resources: [props.verifyRoleArn],
      }),
    );
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: wait for ${props.envName}'s ledger to show the release live, then run the integration test`,
      role,
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      // The ledger wait plus the integration test plus CodeBuild's own start.
      timeout: props.timeout.plus(Duration.minutes(VERIFY_MARGIN_MINUTES)),
      environmentVariables: {
        [VERIFY_ENV.env]: { value: props.envName },
        [VERIFY_ENV.roleArn]: { value: props.verifyRoleArn },
        [VERIFY_ENV.app]: { value: props.appName },
        [VERIFY_ENV.timeoutMinutes]: { value: String(props.timeout.toMinutes()) },
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          install: { 'runtime-versions': { nodejs: 22 } },
          // The Packages artifact (manifest.json) is the working directory; the tool comes from Tools.
          build: { commands: [`node "$CODEBUILD_SRC_DIR_Tools/${VERIFY_TOOL}/index.mjs"`] },
        },
      }),
    });
    // The grants land on the role, a sibling of the project: acknowledge on the whole construct.
    acknowledgeWildcards(
      this,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
  }
}
