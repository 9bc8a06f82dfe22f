import * as fs from 'node:fs';
import * as path from 'node:path';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SANDPIT_BRANCH_PREFIX } from './branches';
import { ownerNoticeCommands } from './sandpit-deploy-project';
import { acknowledgeWildcards, codeBuildDefaultFindings, objectsOf } from '../common/nag';
import { ARTIFACT_METADATA } from '../../lambda/shared/contracts';
import {
  ARTIFACT_NAME_MAX_LENGTH,
  ARTIFACT_NAME_PATTERN,
  BIOME_MAX_LENGTH,
  BIOME_MIN_LENGTH,
  BIOME_PATTERN,
  MAINLINE_BIOME,
  RESERVED_BIOME_NAMES,
} from '../../lambda/shared/grammar';
import { MANIFEST_FILE } from '../bundling/package';
import { type LogSettings, newLogGroup } from '../common/logs';

/** The script every publish project runs; kept as a file so it can be read, linted and tested. */
export const PUBLISH_SCRIPT = path.join(__dirname, 'buildspec', 'publish.sh');
/** The manifest `npm run package` writes next to the artifacts; it is not published (the deploy trigger would reject it). */
export { MANIFEST_FILE };

/** Names of the variables the pipeline sets on each publish action. */
export const PUBLISH_ENV = {
  commitSha: 'COMMIT_SHA',
  branch: 'BRANCH',
  pipelineExecutionId: 'PIPELINE_EXECUTION_ID',
  /**
   * The build's exported sha256 of the manifest (`#{Build.MANIFEST_SHA256}`): the manifest travels in
   * the same artifact as the files it hashes, so only this value, which does not, vouches for it.
   */
  manifestSha256: 'MANIFEST_SHA256',
  /** Release pipeline: the biome to publish to. */
  biome: 'BIOME',
  /** Release pipeline: the only branch whose commits it publishes (`config.source.branch`). */
  releaseBranch: 'RELEASE_BRANCH',
  /** Sandpit pipeline: the biome is the branch name after this prefix. */
  sandpitBranchPrefix: 'SANDPIT_BRANCH_PREFIX',
} as const;

/**
 * The grammar and metadata contract as environment variables of publish.sh, taken from the modules
 * the deploy trigger uses, so the publisher and the consumer cannot drift apart.
 */
export function publishContractVariables(): Record<string, string> {
  return {
    BIOME_PATTERN: BIOME_PATTERN.source,
    BIOME_MIN_LENGTH: String(BIOME_MIN_LENGTH),
    BIOME_MAX_LENGTH: String(BIOME_MAX_LENGTH),
    RESERVED_BIOMES: RESERVED_BIOME_NAMES.join(' '),
    MAINLINE_BIOME,
    ARTIFACT_NAME_PATTERN: ARTIFACT_NAME_PATTERN.source,
    ARTIFACT_NAME_MAX_LENGTH: String(ARTIFACT_NAME_MAX_LENGTH),
    MANIFEST_FILE,
    META_COMMIT_SHA: ARTIFACT_METADATA.commitSha,
    META_BRANCH: ARTIFACT_METADATA.branch,
    META_PUBLISHED_AT: ARTIFACT_METADATA.publishedAt,
    META_PIPELINE_EXECUTION_ID: ARTIFACT_METADATA.pipelineExecutionId,
  };
}

/**
 * The buildspec commands that run one of our scripts (a file of lib/devops/buildspec/, embedded in the
 * project's inline buildspec, never read from the source artifact, so a branch cannot change it): a
 * quoted heredoc, so the script reaches bash byte for byte, with no expansion on the way.
 */
export function scriptCommands(name: string, script: string, args = ''): string[] {
  const file = `/tmp/biomes-${name}.sh`;
  const end = `BIOMES_${name.toUpperCase().replace(/-/g, '_')}_SCRIPT`;
  return [`cat > ${file} <<'${end}'\n${script}${end}`, `bash ${file}${args ? ` ${args}` : ''}`];
}

/** CodeBuild plain-text environment variables of a record. */
export function plainVariables(
  values: Readonly<Record<string, string>>,
): Record<string, codebuild.BuildEnvironmentVariable> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
}

export interface PublishProjectProps {
  /** The environment this project publishes to. */
  readonly envName: string;
  /** The environment's release bucket. */
  readonly releaseBucket: s3.IBucket;
  /** The release bucket's key; every object is written SSE-KMS with it. */
  readonly releaseKey: kms.IKey;
  /** Key of the release pipeline's artifacts (CodeBuild encrypts its own artifacts with it). */
  readonly artifactsKey: kms.IKey;
  /**
   * Biome prefixes IAM refuses this project to write, whatever its script does: the sandpit
   * pipeline's project may never publish into `main`.
   * @default - none
   */
  readonly deniedBiomes?: readonly string[];
  /**
   * The sandpit owners topic: a failed publication tells the sandpit's owner (the sandpit pipeline's).
   * @default - none (the release pipeline's projects: failures go to the team topic)
   */
  readonly ownersTopicArn?: string;
  /** Days the project's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
}

/**
 * Copies one build's output into one environment's release bucket. One project per environment
 * (the dev one serves both pipelines): the role of a project can write into its own environment's
 * release bucket only, so a sandpit run cannot reach staging or prod even through a mistake in the
 * pipeline definition. Its buildspec is inline (from {@link PUBLISH_SCRIPT}), not from the branch.
 * The pipelines grant it read access to their artifacts and `codepipeline:ListPipelineExecutions`
 * on themselves (the script stamps `published-at` with the execution's start time).
 */
export class PublishProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: PublishProjectProps) {
    super(scope, id);
    const script = fs.readFileSync(PUBLISH_SCRIPT, 'utf8');
    const logGroup = newLogGroup(this, 'Logs', props.logs);

    this.project = new codebuild.PipelineProject(this, 'Project', {
      description: `Biomes: publish build artifacts to the ${props.envName} release bucket${(props.deniedBiomes ?? []).length > 0 ? ` (never into ${(props.deniedBiomes ?? []).join(', ')})` : ''}`,
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.artifactsKey,
      logging: { cloudWatch: { logGroup } },
      environmentVariables: plainVariables({
        ...publishContractVariables(),
        RELEASE_BUCKET: props.releaseBucket.bucketName,
        RELEASE_KEY_ARN: props.releaseKey.keyArn,
      }),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          build: {
            commands: scriptCommands('publish', script, '"$CODEBUILD_SRC_DIR"'),
          },
          ...(props.ownersTopicArn
            ? {
                post_build: {
                  commands: [
                    `BIOME="\${BRANCH#${SANDPIT_BRANCH_PREFIX}}"`,
                    ownerNoticeCommands(props.ownersTopicArn, 'publish'),
                  ],
                },
              }
            : {}),
        },
      }),
    });

    // Writes objects (any biome prefix: the biome is checked by the script) and nothing else.
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.releaseBucket.arnForObjects('*')],
      }),
    );
    // An explicit deny wins over any allow: a sandpit run cannot reach `main/` even if the script or
    // the pipeline definition were wrong. (IAM cannot name "the biome this build was for": CodeBuild
    // has no per-build session policy, so the script's branch check keeps sandpits apart.)
    const denied = props.deniedBiomes ?? [];
    if (denied.length > 0) {
      this.project.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'NeverPublishIntoTheseBiomes',
          effect: iam.Effect.DENY,
          actions: ['s3:PutObject'],
          resources: denied.map((b) => props.releaseBucket.arnForObjects(`${b}/*`)),
        }),
      );
    }
    // `aws s3 cp` of large models uses multipart uploads, which need the data key decrypted again.
    props.releaseKey.grant(this.project, 'kms:GenerateDataKey', 'kms:Decrypt');
    acknowledgeWildcards(
      this.project,
      codeBuildDefaultFindings(this.project),
      'CodeBuild names the log streams and report groups of its own project per build; the grant covers that project only.',
    );
    acknowledgeWildcards(
      this.project,
      [objectsOf(props.releaseBucket)],
      `Keys are <biome>/<name>-<sha> of the run being published, unknown before it; only the ${props.envName} release bucket is writable.`,
    );
  }
}
