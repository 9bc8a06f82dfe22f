/**
 * The sandpit pipeline's deploy and verify steps for the environment that receives sandpit builds
 * (docs/design.md "Accounts and flow"): one CodeBuild project, two steps chosen by `SANDPIT_STEP`.
 *
 * - `deploy`: the owner check (scripts/sandpit-owner-check.ts: a push whose commit author is not the
 *   deployed sandpit's owner nor a maintainer is refused, naming the owner), then `cdk deploy` of the
 *   branch's biome stack from the build's cloud assembly. The stack's synthesizer names the sandpit
 *   deployer role (lib/app.ts sandpitSynthesizer), so the CLI assumes it, never the admin bootstrap
 *   roles: a sandpit branch can change its own stack, migrations included, and nothing else.
 * - `verify`: waits until the ledger shows the commit live in the biome (scripts/verify-release.ts with
 *   VERIFY_BIOME), read through the same deployer role.
 *
 * Both tell the sandpit's owner when they fail (post_build: SNS publish to the environment's owners
 * topic with message attribute `biome`, which the owner's subscription filters on); the build and
 * publish projects do the same, so any failed run reaches the owner besides the team topic.
 * The buildspec is inline, never from the branch. The project's role may assume that one deployer role
 * and publish to that one topic: nothing else in the workload account.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type LogSettings, newLogGroup } from '../common/logs';
import { acknowledgeWildcards, codeBuildDefaultFindings } from '../common/nag';
import { SANDPIT_BRANCH_PREFIX } from './branches';
import { cdkCliVersion } from './infrastructure-project';
import { VERIFY_ENV } from './release/verify';
import { VERIFY_TOOL } from './verify-project';
import { partitionOf } from '../naming';
import { EnvScope } from '../../lambda/shared/scope';

/** The owner check's folder in the Tools artifact (scripts/build-tools.ts). */
export const OWNER_CHECK_TOOL = 'sandpit-owner';

/** Which step an action runs (`deploy` or `verify`), and the branch it builds. */
export const SANDPIT_PROJECT_ENV = {
  step: 'SANDPIT_STEP',
  branch: 'BRANCH',
} as const;

export type SandpitStep = 'deploy' | 'verify';

export interface SandpitDeployProjectProps {
  readonly appName: string;
  readonly envName: string;
  /** The environment's workload account. */
  readonly account: string;
  /** Name of the project's role: the sandpit deployer role trusts exactly it. */
  readonly roleName: string;
  readonly deployerRoleArn: string;
  /** The environment's owners topic (a fixed name in the workload account). */
  readonly ownersTopicArn: string;
  /** Who may deploy over another's sandpit (biomes.sandpits.maintainers). */
  readonly maintainers: readonly string[];
  readonly verifyTimeout: Duration;
  readonly artifactsKey: kms.IKey;
  readonly logs: LogSettings;
  /** @default cdkCliVersion() */
  readonly cliVersion?: string;
}

/** The shell lines that tell a sandpit's owner about a failed step (post_build of a sandpit project). */
export function ownerNoticeCommands(topicArn: string, what: string): string {
  return [
    'if [ "${CODEBUILD_BUILD_SUCCEEDING:-0}" != "1" ] && [ -n "${BIOME:-}" ]; then',
    `  aws sns publish --topic-arn "${topicArn}" \\`,
    `    --subject "Biomes sandpit $BIOME: ${what} failed" \\`,
    `    --message "The sandpit pipeline's ${what} step failed for sandpit $BIOME (commit \${COMMIT_SHA:-unknown}, branch $BRANCH). Build log: \${CODEBUILD_BUILD_URL:-see CodeBuild}" \\`,
    `    --message-attributes "{\\"biome\\":{\\"DataType\\":\\"String\\",\\"StringValue\\":\\"$BIOME\\"}}" || echo "could not notify the owner" >&2`,
    'fi',
  ].join('\n');
}

/** The biome of `$BRANCH` (`sandpit/<biome>`), checked like the build checks it, as `BIOME`. */
export const BIOME_FROM_BRANCH = [
  `BIOME="\${BRANCH#${SANDPIT_BRANCH_PREFIX}}"`,
  'if ! [[ "$BIOME" =~ ^[a-z][a-z0-9-]*[a-z0-9]$ ]] || [ "$BIOME" = "$BRANCH" ]; then',
  `  echo "branch '$BRANCH' is not ${SANDPIT_BRANCH_PREFIX}<biome>" >&2; exit 1`,
  'fi',
].join('\n');

export class SandpitDeployProject extends Construct {
  readonly project: codebuild.PipelineProject;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SandpitDeployProjectProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = newLogGroup(this, 'Logs', props.logs);
    const version = props.cliVersion ?? cdkCliVersion();
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: `Biomes: deploys sandpit stacks to ${props.envName} through ${props.deployerRoleArn}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeSandpitDeployer',
        actions: ['sts:AssumeRole'],
        resources: [props.deployerRoleArn],
      }),
    );
    grantOwnerNotices(this.role, props.ownersTopicArn, props.account, stack.region);
    // The stack of biome $BIOME: `<app>-<env>-` (the sandpit fence's prefix, lambda/shared/scope.ts) and the name.
    const stackOf = `${new EnvScope(props.appName, props.envName).sandpitFence.prefix}$BIOME`;
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: deploy and verify sandpit stacks in ${props.envName} through the sandpit deployer`,
      role: this.role,
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      timeout: props.verifyTimeout.plus(Duration.minutes(30)),
      environmentVariables: {
        SANDPIT_DEPLOYER_ROLE_ARN: { value: props.deployerRoleArn },
        SANDPIT_MAINTAINERS: { value: JSON.stringify(props.maintainers) },
        [VERIFY_ENV.env]: { value: props.envName },
        [VERIFY_ENV.roleArn]: { value: props.deployerRoleArn },
        [VERIFY_ENV.app]: { value: props.appName },
        [VERIFY_ENV.timeoutMinutes]: { value: String(props.verifyTimeout.toMinutes()) },
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          install: { 'runtime-versions': { nodejs: 22 } },
          build: {
            commands: [
              BIOME_FROM_BRANCH,
              `export SANDPIT_STACK="${stackOf}" ${VERIFY_ENV.biome}="$BIOME"`,
              [
                `if [ "$${SANDPIT_PROJECT_ENV.step}" = "deploy" ]; then`,
                // The primary input is the cloud assembly: no synth here. CodeBuild runs a
                // multi-line command as one script without `set -e`, so its status is the last
                // line's: a refused owner check must end the step itself, or cdk deploy runs anyway.
                `  node "$CODEBUILD_SRC_DIR_Tools/${OWNER_CHECK_TOOL}/index.mjs" || exit 1`,
                `  npx --yes aws-cdk@${version} deploy --app "$CODEBUILD_SRC_DIR" --exclusively --require-approval never --ci --progress events "$SANDPIT_STACK"`,
                `elif [ "$${SANDPIT_PROJECT_ENV.step}" = "verify" ]; then`,
                // The primary input is the Packages artifact (manifest.json), the working directory.
                `  node "$CODEBUILD_SRC_DIR_Tools/${VERIFY_TOOL}/index.mjs"`,
                'else',
                `  echo "${SANDPIT_PROJECT_ENV.step} must be deploy or verify" >&2; exit 1`,
                'fi',
              ].join('\n'),
            ],
          },
          post_build: {
            commands: [ownerNoticeCommands(props.ownersTopicArn, `$${SANDPIT_PROJECT_ENV.step}`)],
          },
        },
      }),
    });
    acknowledgeWildcards(
      this,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
  }
}

/**
 * Lets a sandpit project's role tell owners about a failure: publish to the owners topic of the
 * workload account, encrypting with its key through SNS only (the key's ARN is generated there; its
 * policy admits the DevOps account for SNS, lib/workload/shared/sandpit-lifecycle.ts).
 */
export function grantOwnerNotices(role: iam.IRole, topicArn: string, account: string, region: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'OwnerNotices', actions: ['sns:Publish'], resources: [topicArn] }),
  );
  const keys = `arn:${partitionOf(region)}:kms:${region}:${account}:key/*`;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'OwnerNoticesKey',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [keys],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
    }),
  );
  acknowledgeWildcards(
    role,
    [`Resource::${keys}`],
    "The owners topic's key has a generated id in the workload account; the grant is for SNS only (kms:ViaService) and that account's keys.",
  );
}
