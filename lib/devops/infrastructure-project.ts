/**
 * The Infrastructure action of an environment stage (docs/design.md "Accounts and flow"): `cdk deploy`
 * of that environment's shared and mainline biome stacks from the cloud assembly the build synthesized
 * once, through the workload account's CDK bootstrap roles (trusted with `cdk bootstrap --trust
 * <devops>`). Migrations run here (the biome database custom resource), so the schema of a commit is in
 * place before any of its code goes live. Its buildspec is inline, never from the branch, and its role
 * may assume exactly that environment's deploy and asset-publishing roles: nothing else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REPO_ROOT } from '../bundling/bundler';
import { acknowledgeWildcards, codeBuildDefaultFindings } from '../common/nag';

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
  readonly logRetention: logs.RetentionDays;
  /** @default cdkCliVersion() */
  readonly cliVersion?: string;
}

export class InfrastructureProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: InfrastructureProjectProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const version = props.cliVersion ?? cdkCliVersion();
    const stacks = props.stacks.join(' ');
    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: deploy ${stacks} to ${props.envName} from the build's cloud assembly`,
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      timeout: Duration.hours(1),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          install: { 'runtime-versions': { nodejs: 22 } },
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
  }
}
