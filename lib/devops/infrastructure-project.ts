/**
 * The Infrastructure action of an environment stage (docs/design.md "Accounts and flow"): `cdk deploy`
 * of that environment's shared and mainline biome stacks from the cloud assembly the build synthesized
 * once, through the workload account's CDK bootstrap roles (trusted with `cdk bootstrap --trust
 * <devops>`). Migrations run here (the biome database custom resource), so the schema of a commit is in
 * place before any of its code goes live. Its buildspec is inline, never from the branch, and its role
 * may assume exactly that environment's deploy and asset-publishing roles, and pull the one base image
 * below: nothing else.
 *
 * `cdk deploy` also builds the shared stack's inference image (a DockerImageAsset,
 * lib/workload/shared/inference.ts) when the environment's bootstrap repository lacks its hash, and
 * pushes it through the image-publishing role. So each environment's Infrastructure step rebuilds that
 * image from the same inputs in the assembly (the Dockerfile, the base image by tag, the entry point);
 * only the base layers can differ, when AWS re-published the tag in between. That build needs Docker
 * (privileged mode), an x86 host (the base tag is amd64 only and the endpoint's instances are x86), and a
 * `docker login` to the regional SageMaker scikit-learn registry (an AWS account) to pull the base: the
 * role may read exactly that repository.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { REPO_ROOT } from '../repo';
import { type LogSettings, newLogGroup } from '../common/logs';
import { controlTowerRule } from '../common/control-tower';
import { acknowledgeWildcards, codeBuildDefaultFindings } from '../common/nag';
import { sklearnRegistry, sklearnRepositoryArn } from '../workload/shared/inference-image';

/** The bootstrap roles `cdk deploy` assumes in a target account (CDK's DefaultStackSynthesizer names). */
export const BOOTSTRAP_ROLES = ['deploy-role', 'file-publishing-role', 'image-publishing-role'] as const;

/** `cdk-<qualifier>-<role>-<account>-<region>`: how `cdk bootstrap` names its roles. */
export function bootstrapRoleName(qualifier: string, role: string, account: string, region: string): string {
  return `cdk-${qualifier}-${role}-${account}-${region}`;
}

/** The CDK CLI version of package.json: the infrastructure stage deploys with the CLI the build was tested with. */
export function cdkCliVersion(root: string = REPO_ROOT): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const version = pkg.devDependencies?.['aws-cdk'];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(
      `package.json must pin devDependencies["aws-cdk"] to an exact 2.x version (found ${String(version)})`,
    );
  }
  return version;
}

export interface InfrastructureProjectProps {
  /** The environment this project deploys (its stacks and bootstrap roles). */
  readonly envName: string;
  /** The environment's workload account. */
  readonly account: string;
  /** The stacks to deploy, in the assembly, e.g. `biomes-dev-shared biomes-dev-main`. */
  readonly stacks: readonly string[];
  /** The CDK bootstrap qualifier of the workload account. */
  readonly qualifier: string;
  /** Key of the pipeline's artifacts (CodeBuild reads the assembly with it). */
  readonly artifactsKey: kms.IKey;
  /** How its log group is kept and encrypted. */
  readonly logs: LogSettings;
  /** @default cdkCliVersion() */
  readonly cliVersion?: string;
  /**
   * Whether `cdk deploy` builds the default inference image here (no `environments.<env>.inference.image`).
   * @default true when the SageMaker scikit-learn image is known for the stack's region
   */
  readonly buildsInferenceImage?: boolean;
}

/** The login to the registry of the inference image's base, which `cdk deploy` pulls to build it. */
export function baseImageLoginCommand(region: string, registry: string): string {
  return `aws ecr get-login-password --region ${region} | docker login --username AWS --password-stdin ${registry}`;
}

export class InfrastructureProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: InfrastructureProjectProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = newLogGroup(this, 'Logs', props.logs);
    const version = props.cliVersion ?? cdkCliVersion();
    const stacks = props.stacks.join(' ');
    const region = stack.region;
    if (Token.isUnresolved(region)) {
      throw new Error(
        `InfrastructureProject ${props.envName}: the stack needs a concrete region (the workload region).`,
      );
    }
    const registry = sklearnRegistry(region);
    const repositoryArn = sklearnRepositoryArn(region, stack.partition);
    const buildsImage = props.buildsInferenceImage ?? registry !== undefined;
    if (buildsImage && (!registry || !repositoryArn)) {
      throw new Error(
        `InfrastructureProject ${props.envName}: no SageMaker scikit-learn image is known for region "${region}" to build the inference image from; set biomes.environments.${props.envName}.inference.image.`,
      );
    }
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: deploy ${stacks} to ${props.envName} from the build's cloud assembly`,
      environment: {
        // x86: the inference image's base is amd64 only, and its build runs the base's Python.
        buildImage: codebuild.LinuxBuildImage.AMAZON_LINUX_2023_5,
        computeType: codebuild.ComputeType.SMALL,
        // Docker, for the inference image asset `cdk deploy` builds.
        privileged: buildsImage,
        // The Dockerfile's `RUN --network=none` needs BuildKit (the default builder from Docker 23).
        environmentVariables: buildsImage ? { DOCKER_BUILDKIT: { value: '1' } } : undefined,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      timeout: Duration.hours(1),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          install: { 'runtime-versions': { nodejs: 22 } },
          ...(buildsImage ? { pre_build: { commands: [baseImageLoginCommand(region, registry!)] } } : {}),
          build: {
            commands: [
              // The assembly is the artifact itself: no synth here, so every environment gets the same
              // templates and asset bytes. --exclusively: only these stacks, never their dependencies.
              `npx --yes aws-cdk@${version} deploy --app "$CODEBUILD_SRC_DIR" --exclusively --require-approval never --ci --progress events ${stacks}`,
            ],
          },
        },
      }),
    });
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AssumeBootstrapRoles',
        actions: ['sts:AssumeRole'],
        resources: BOOTSTRAP_ROLES.map(
          (role) =>
            `arn:${stack.partition}:iam::${props.account}:role/${bootstrapRoleName(props.qualifier, role, props.account, stack.region)}`,
        ),
      }),
    );
    acknowledgeWildcards(
      this.project,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
    if (buildsImage) {
      this.project.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'PullInferenceBaseImage',
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          resources: [repositoryArn!],
        }),
      );
      this.project.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EcrLogin',
          actions: ['ecr:GetAuthorizationToken'],
          resources: ['*'],
        }),
      );
      acknowledgeWildcards(
        this.project,
        ['Resource::*'],
        'ecr:GetAuthorizationToken has no resource-level permissions; the pull itself is scoped to the SageMaker scikit-learn repository of the region.',
      );
      const privileged =
        'Privileged mode runs the Docker daemon that builds the inference image asset during cdk deploy; the project runs only its inline buildspec on the tested cloud assembly.';
      Validations.of(this.project).acknowledge(
        { id: 'AwsSolutions-CB3', reason: privileged },
        // Control Tower CT.CODEBUILD.PR.4 (no privileged mode): the same decision.
        { id: controlTowerRule('codebuild_project_environment_privileged_check'), reason: privileged },
      );
    }
  }
}
