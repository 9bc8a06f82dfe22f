/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized templates are untyped JSON; the assertions give them shape. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type BiomesConfig, environmentOf } from '../../lib/config';
import { DevopsStack } from '../../lib/devops/devops-stack';
import { ReleaseBucket } from '../../lib/devops/release-bucket';
import { MANIFEST_FILE, PUBLISH_SCRIPT, publishContractVariables } from '../../lib/devops/publish-project';
import {
  landingBucketName,
  landingKeyAliasArn,
  replicationRoleArn,
  replicationRoleName,
} from '../../lib/naming';
import { rawPlaceholderConfig, testApp, testConfig, unacknowledgedFindings } from '../fixtures/config';
import { parseConfig } from '../../lib/config';

type Resource = { Type: string; Properties: Record<string, any> };
type Stage = { Name: string; Actions: Array<Record<string, any>> };

function synth(config: BiomesConfig = testConfig()) {
  const app = testApp();
  const stack = new DevopsStack(app, 'biomes-devops', {
    config,
    env: { account: config.devopsAccount, region: config.region },
  });
  return { stack, template: Template.fromStack(stack) };
}

const config = testConfig();
const ENV_NAMES = config.environments.map((e) => e.name);
const { stack, template } = synth(config);
const resources = template.toJSON().Resources as Record<string, Resource>;
/** The resource with this logical id; a missing one fails the test. */
function resourceAt(id: string): Resource {
  const resource = resources[id];
  if (!resource) throw new Error(`no resource ${id} in the template`);
  return resource;
}
/** The release bucket of this environment; a missing one fails the test. */
function releaseBucketOf(env: string): ReleaseBucket {
  const bucket = stack.releaseBuckets[env];
  if (!bucket) throw new Error(`no release bucket for ${env}`);
  return bucket;
}
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;

function pipeline(which: 'release' | 'sandpit') {
  const id = logicalId(stack.pipelines[which]);
  return resourceAt(id).Properties;
}
const stagesOf = (which: 'release' | 'sandpit') => pipeline(which).Stages as Stage[];
/** Every policy document attached to the role with this logical id (its policies and inline policies). */
const policiesOfRole = (roleId: string) => [
  ...ofType('AWS::IAM::Policy')
    .filter(([, p]) =>
      (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
    )
    .map(([, p]) => p.Properties.PolicyDocument as { Statement: Array<Record<string, any>> }),
  ...(
    (resourceAt(roleId).Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Array<Record<string, any>> };
    }>
  ).map((p) => p.PolicyDocument),
];
const statementsOfRole = (roleId: string) => policiesOfRole(roleId).flatMap((d) => d.Statement);
/** Each (action, resource) pair the Allow statements grant (CDK merges statements, so compare pairs). */
const grants = (statements: Array<Record<string, any>>) =>
  statements
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) =>
      ([s.Action].flat() as string[]).flatMap((action) =>
        [s.Resource].flat().map((resource: unknown) => ({ action, resource })),
      ),
    );
/** Logical id of a role referenced as `{ "Fn::GetAtt": [id, "Arn"] }`. */
const roleIdOf = (arn: unknown) => (arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
const projectRoleId = (project: { role?: unknown }) => logicalId(project.role as never);
const envVars = (action: Record<string, any>) =>
  Object.fromEntries(
    (JSON.parse(action.Configuration.EnvironmentVariables) as Array<{ name: string; value: string }>).map(
      (v) => [v.name, v.value],
    ),
  );

describe('pipelines', () => {
  test('two delivery pipelines and one rollback pipeline per environment (test/devops/rollback-pipeline.test.ts), all V2, on one CodeConnections source with the configured repository', () => {
    template.resourceCountIs('AWS::CodePipeline::Pipeline', 2 + ENV_NAMES.length);
    for (const which of ['release', 'sandpit'] as const) {
      const p = pipeline(which);
      expect(p.PipelineType).toBe('V2');
      const source = stagesOf(which)[0]!.Actions[0]!;
      expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
      expect(source.Configuration).toMatchObject({
        ConnectionArn: config.source.connectionArn,
        FullRepositoryId: config.source.repository,
      });
      expect(source.Namespace).toBe('Source');
    }
  });

  test('the source role may use the connection under both service prefixes (codeconnections ARNs need codeconnections:*)', () => {
    expect(config.source.connectionArn).toMatch(/^arn:aws:codeconnections:/);
    for (const which of ['release', 'sandpit'] as const) {
      const source = stagesOf(which)[0]!.Actions[0]!;
      const granted = grants(statementsOfRole(roleIdOf(source.RoleArn)));
      for (const action of ['codeconnections:UseConnection', 'codestar-connections:UseConnection']) {
        expect(granted).toContainEqual({ action, resource: config.source.connectionArn });
      }
    }
  });

  test("the sandpit build clones the repository (full clone: the author is the sandpit's owner) with its own role, under both prefixes too", () => {
    expect(stagesOf('sandpit')[0]!.Actions[0]!.Configuration.OutputArtifactFormat).toBe(
      'CODEBUILD_CLONE_REF',
    );
    const projectId = (stagesOf('sandpit')[1]!.Actions[0]!.Configuration.ProjectName as { Ref: string }).Ref;
    const roleId = resourceAt(projectId).Properties.ServiceRole['Fn::GetAtt'][0] as string;
    const granted = grants(statementsOfRole(roleId));
    for (const action of ['codeconnections:UseConnection', 'codestar-connections:UseConnection']) {
      expect(granted).toContainEqual({ action, resource: config.source.connectionArn });
    }
  });

  test('release: build -> dev -> approval -> staging -> approval -> prod, each Infrastructure -> Publish -> Verify, triggered by pushes to the release branch', () => {
    expect(stagesOf('release').map((s) => s.Name)).toEqual([
      'Source',
      'Build',
      'InfrastructureDev',
      'PublishDev',
      'VerifyDev',
      'ApproveStaging',
      'InfrastructureStaging',
      'PublishStaging',
      'VerifyStaging',
      'ApproveProd',
      'InfrastructureProd',
      'PublishProd',
      'VerifyProd',
    ]);
    for (const approval of ['ApproveStaging', 'ApproveProd']) {
      const stage = stagesOf('release').find((s) => s.Name === approval)!;
      expect(stage.Actions.map((a) => a.ActionTypeId)).toEqual([
        { Category: 'Approval', Owner: 'AWS', Provider: 'Manual', Version: '1' },
      ]);
    }
    expect(pipeline('release').Triggers).toEqual([
      {
        ProviderType: 'CodeStarSourceConnection',
        GitConfiguration: {
          SourceActionName: 'Source',
          Push: [{ Branches: { Includes: [config.source.branch] } }],
        },
      },
    ]);
    expect(pipeline('release').ExecutionMode).not.toBe('PARALLEL');
  });

  test('sandpit: build -> dev only (Infrastructure through the sandpit deployer -> Publish -> Verify), on pushes to sandpit/*, in PARALLEL mode', () => {
    expect(stagesOf('sandpit').map((s) => s.Name)).toEqual([
      'Source',
      'Build',
      'InfrastructureDev',
      'PublishDev',
      'VerifyDev',
    ]);
    const actionAt = (i: number) => stagesOf('sandpit')[i]!.Actions[0]!;
    const build = actionAt(1);
    const deploy = actionAt(2);
    const verify = actionAt(4);
    // Deploy takes the build's cloud assembly, verify its packages; both get the bundled tools.
    expect(deploy.InputArtifacts).toEqual([{ Name: 'Assembly' }, { Name: 'Tools' }]);
    expect(verify.InputArtifacts).toEqual([{ Name: 'Packages' }, { Name: 'Tools' }]);
    expect(build.OutputArtifacts.map((a: { Name: string }) => a.Name)).toEqual([
      'Packages',
      'Assembly',
      'Tools',
    ]);
    const step = (action: Record<string, any>) =>
      (JSON.parse(action.Configuration.EnvironmentVariables) as { name: string; value: string }[]).find(
        (v) => v.name === 'SANDPIT_STEP',
      )?.value;
    expect([step(deploy), step(verify)]).toEqual(['deploy', 'verify']);
    // Both run the one sandpit deploy project, whose role is named for the deployer's trust.
    expect(deploy.Configuration.ProjectName).toEqual(verify.Configuration.ProjectName);
    // A sandpit build clones (Git metadata: the commit author is the owner); the release build does not.
    const source = (which: 'release' | 'sandpit') => stagesOf(which)[0]!.Actions[0]!.Configuration;
    expect(source('sandpit').OutputArtifactFormat).toBe('CODEBUILD_CLONE_REF');
    expect(source('release').OutputArtifactFormat).toBeUndefined();
    expect(pipeline('sandpit').ExecutionMode).toBe('PARALLEL');
    expect(pipeline('sandpit').Triggers).toEqual([
      {
        ProviderType: 'CodeStarSourceConnection',
        GitConfiguration: { SourceActionName: 'Source', Push: [{ Branches: { Includes: ['sandpit/*'] } }] },
      },
    ]);
  });

  test('each pipeline builds once with its own instance of the one ARM build definition, and every publication takes that build output', () => {
    // 1 build per pipeline + per env: publish, infrastructure, verify, rollback; + the sandpit publish and deploy projects.
    template.resourceCountIs('AWS::CodeBuild::Project', 4 + 4 * ENV_NAMES.length);
    for (const which of ['release', 'sandpit'] as const) {
      const actions = stagesOf(which).flatMap((s) => s.Actions);
      const builds = actions.filter(
        (a) => a.ActionTypeId.Category === 'Build' && a.Name === 'TestAndPackage',
      );
      expect(builds).toHaveLength(1);
      const build = builds[0]!;
      expect(build.Configuration.ProjectName).toEqual({ Ref: logicalId(stack.builds[which].project) });
      expect(envVars(build)).toEqual({
        COMMIT_SHA: '#{Source.CommitId}',
        BRANCH: '#{Source.BranchName}',
        PIPELINE_KIND: which,
        // A failed sandpit build tells the sandpit's owner through the first environment's owners topic.
        ...(which === 'sandpit'
          ? { OWNERS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:222222222222:biomes-dev-sandpit-owners' }
          : {}),
      });
      // Its exported variables (MANIFEST_SHA256) are #{Build.<name>} to the actions after it.
      expect(build.Namespace).toBe('Build');
      // Three outputs: the packages, the cloud assembly synthesized once, the pipeline's tools.
      expect(build.OutputArtifacts.map((o: { Name: string }) => o.Name)).toEqual([
        'Packages',
        'Assembly',
        'Tools',
      ]);
      const output = build.OutputArtifacts[0].Name;
      const publishes = actions.filter((a) => a.Name.startsWith('Publish-'));
      expect(publishes.length).toBe(which === 'release' ? 3 : 1);
      for (const p of publishes) expect(p.InputArtifacts).toEqual([{ Name: output }]);
    }
    // The same definition twice: only the artifacts key (and the description) differ.
    const release = resourceAt(logicalId(stack.builds.release.project)).Properties;
    const sandpit = resourceAt(logicalId(stack.builds.sandpit.project)).Properties;
    expect(logicalId(stack.builds.release.project)).not.toBe(logicalId(stack.builds.sandpit.project));
    for (const p of [release, sandpit]) {
      expect(p.Environment).toMatchObject({
        Type: 'ARM_CONTAINER',
        Image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
      });
      expect(p.Source).toEqual({ Type: 'CODEPIPELINE', BuildSpec: 'lib/devops/buildspec/build.yml' });
    }
    const same = ({ Environment, Source, TimeoutInMinutes, Artifacts }: Record<string, unknown>) => ({
      Environment,
      Source,
      TimeoutInMinutes,
      Artifacts,
    });
    expect(same(sandpit)).toEqual(same(release));
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'lib/devops/buildspec/build.yml'))).toBe(true);
  });

  test('each pipeline has its own artifact store, with its own key', () => {
    // Read from the template alone, so the test means the same whatever the stack's fields are.
    const store = (which: 'release' | 'sandpit') => pipeline(which).ArtifactStore;
    expect(store('release').Location).not.toEqual(store('sandpit').Location);
    expect(store('release').EncryptionKey.Id).not.toEqual(store('sandpit').EncryptionKey.Id);
    for (const which of ['release', 'sandpit'] as const) {
      expect(store(which)).toEqual({
        Type: 'S3',
        Location: { Ref: logicalId(stack.artifactBuckets[which]) },
        EncryptionKey: {
          Type: 'KMS',
          Id: { 'Fn::GetAtt': [logicalId(stack.artifactBuckets[which].encryptionKey as never), 'Arn'] },
        },
      });
      // The build of each pipeline encrypts its output with that pipeline's key.
      const build = stagesOf(which)
        .flatMap((s) => s.Actions)
        .find((a) => a.Name === 'TestAndPackage')!;
      expect(resourceAt(build.Configuration.ProjectName.Ref).Properties.EncryptionKey).toEqual(
        store(which).EncryptionKey.Id,
      );
    }
  });

  test('no role of the sandpit pipeline or its build names the release artifacts bucket or key', () => {
    // Template only: the release store is what the release pipeline names, the sandpit build is what
    // the sandpit pipeline runs.
    const releaseStore = pipeline('release').ArtifactStore;
    const bucket = releaseStore.Location.Ref as string;
    const key = roleIdOf(releaseStore.EncryptionKey.Id);
    const sandpitActions = stagesOf('sandpit').flatMap((s) => s.Actions);
    const sandpitBuild = sandpitActions.find((a) => a.Name === 'TestAndPackage')!;
    const sandpitBuildRole = roleIdOf(
      resourceAt(sandpitBuild.Configuration.ProjectName.Ref).Properties.ServiceRole,
    );
    const sandpitRoles = new Set([
      roleIdOf(pipeline('sandpit').RoleArn),
      ...sandpitActions.filter((a) => a.RoleArn).map((a) => roleIdOf(a.RoleArn)),
      sandpitBuildRole,
    ]);
    expect(sandpitRoles.size).toBeGreaterThanOrEqual(4);
    for (const role of sandpitRoles) {
      const docs = JSON.stringify(policiesOfRole(role));
      expect(docs).not.toContain(`"${bucket}"`);
      expect(docs).not.toContain(`"${key}"`);
    }
    // The sandpit build writes its own store; the release build never sees the sandpit's.
    const sandpitStore = pipeline('sandpit').ArtifactStore.Location.Ref as string;
    expect(JSON.stringify(policiesOfRole(sandpitBuildRole))).toContain(`"${sandpitStore}"`);
    const releaseBuild = JSON.stringify(policiesOfRole(projectRoleId(stack.builds.release.project)));
    expect(releaseBuild).toContain(`"${bucket}"`);
    expect(releaseBuild).not.toContain(`"${sandpitStore}"`);
  });

  test('publish roles read the artifacts but never write an artifact store', () => {
    for (const env of ENV_NAMES) {
      const project = stack.node.findChild(`Publish-${env}`).node.findChild('Project') as any;
      for (const s of statementsOfRole(projectRoleId(project))) {
        const actions = [s.Action].flat() as string[];
        const resourcesOf = JSON.stringify(s.Resource);
        if (actions.some((a) => /^s3:(Put|Delete|Abort)/.test(a))) {
          for (const which of ['release', 'sandpit'] as const) {
            expect(resourcesOf).not.toContain(logicalId(stack.artifactBuckets[which]));
          }
        }
      }
    }
  });

  test('each publish role may list the executions of exactly the pipeline it publishes for (published-at), nothing more of CodePipeline', () => {
    const pipelineArn = (which: 'release' | 'sandpit') =>
      stack.resolve(stack.pipelines[which].pipelineArn) as Record<string, unknown>;
    const publishers: Array<{ project: any; which: 'release' | 'sandpit' }> = [
      ...ENV_NAMES.map((env) => ({
        project: stack.node.findChild(`Publish-${env}`).node.findChild('Project'),
        which: 'release' as const,
      })),
      { project: stack.node.findChild('PublishSandpit-dev').node.findChild('Project'), which: 'sandpit' },
    ];
    for (const { project, which } of publishers) {
      const codepipelineGrants = grants(statementsOfRole(projectRoleId(project))).filter((g) =>
        g.action.startsWith('codepipeline:'),
      );
      expect(codepipelineGrants).toEqual([
        { action: 'codepipeline:ListPipelineExecutions', resource: pipelineArn(which) },
      ]);
    }
    for (const which of ['release', 'sandpit'] as const) {
      expect(JSON.stringify(policiesOfRole(projectRoleId(stack.builds[which].project)))).not.toContain(
        'codepipeline:',
      );
    }
  });

  test('the sandpit publish project may never write into the mainline biome', () => {
    const project = stack.node.findChild('PublishSandpit-dev').node.findChild('Project') as any;
    const deny = statementsOfRole(projectRoleId(project)).find((s) => s.Effect === 'Deny');
    expect(deny).toMatchObject({ Sid: 'NeverPublishIntoTheseBiomes', Action: 's3:PutObject' });
    expect(JSON.stringify(deny?.Resource)).toContain('/main/*');
  });

  test('each publish action uses its own environment project and passes commit, branch, execution id, biome and (release) the release branch', () => {
    const check = (
      which: 'release' | 'sandpit',
      stageName: string,
      env: string,
      biomeVars: Record<string, string>,
    ) => {
      const action = stagesOf(which).find((s) => s.Name === stageName)!.Actions[0]!;
      const projectId = which === 'release' ? `Publish-${env}` : `PublishSandpit-${env}`;
      expect(action.Configuration.ProjectName).toEqual({
        Ref: logicalId(stack.node.findChild(projectId).node.findChild('Project')),
      });
      expect(envVars(action)).toEqual({
        COMMIT_SHA: '#{Source.CommitId}',
        BRANCH: '#{Source.BranchName}',
        PIPELINE_EXECUTION_ID: '#{codepipeline.PipelineExecutionId}',
        // The build's hash of the manifest, kept by CodePipeline apart from the artifact.
        MANIFEST_SHA256: '#{Build.MANIFEST_SHA256}',
        ...biomeVars,
      });
    };
    // The release publishes refuse commits of any branch but the configured release branch.
    const release = { BIOME: 'main', RELEASE_BRANCH: config.source.branch };
    check('release', 'PublishDev', 'dev', release);
    check('release', 'PublishStaging', 'staging', release);
    check('release', 'PublishProd', 'prod', release);
    check('sandpit', 'PublishDev', 'dev', { SANDPIT_BRANCH_PREFIX: 'sandpit/' });
  });

  test('every publish action of both pipelines gets the manifest hash exported by its own pipeline build', () => {
    for (const which of ['release', 'sandpit'] as const) {
      const actions = stagesOf(which).flatMap((s) => s.Actions);
      const build = actions.find((a) => a.Name === 'TestAndPackage')!;
      const publishes = actions.filter(
        (a) => a.ActionTypeId.Category === 'Build' && a !== build && a.Name.startsWith('Publish-'),
      );
      expect(publishes.map((a) => a.Name)).toEqual(
        which === 'release' ? ['Publish-dev', 'Publish-staging', 'Publish-prod'] : ['Publish-dev'],
      );
      for (const p of publishes) {
        expect(envVars(p).MANIFEST_SHA256).toBe(`#{${build.Namespace}.MANIFEST_SHA256}`);
      }
    }
    // build.yml exports the variable under that name; without the export the reference cannot resolve.
    const buildSpec = fs.readFileSync(
      path.join(__dirname, '..', '..', 'lib/devops/buildspec/build.yml'),
      'utf8',
    );
    expect(buildSpec).toMatch(
      /^env:\n(?: {2}.*\n)*? {2}exported-variables:\n(?: {4}- .*\n)*? {4}- MANIFEST_SHA256\n/m,
    );
    expect(buildSpec).toMatch(
      /^ {8}MANIFEST_SHA256="\$\(sha256sum dist\/manifest\.json \| cut -d' ' -f1\)"$/m,
    );
    expect(buildSpec).toMatch(/^ {8}export MANIFEST_SHA256$/m);
  });

  test('failures (both pipelines) and pending approvals (release) notify the encrypted topic', () => {
    const topic = logicalId(stack.topic);
    // + one per rollback pipeline (test/devops/rollback-pipeline.test.ts).
    template.resourceCountIs('AWS::CodeStarNotifications::NotificationRule', 2 + ENV_NAMES.length);
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: [
        'codepipeline-pipeline-pipeline-execution-failed',
        'codepipeline-pipeline-manual-approval-needed',
      ],
      Resource: Match.anyValue(),
      Targets: [{ TargetType: 'SNS', TargetAddress: { Ref: topic } }],
    });
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: ['codepipeline-pipeline-pipeline-execution-failed'],
      Targets: [{ TargetType: 'SNS', TargetAddress: { Ref: topic } }],
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Placeholder config has no email: no subscription.
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('an email in the config subscribes it to the topic', () => {
    const raw = rawPlaceholderConfig();
    raw.notifications = { email: 'ml-platform@example.com' };
    const withEmail = synth(parseConfig(raw)).template;
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ml-platform@example.com',
    });
  });
});

describe('the Infrastructure projects and the inference image', () => {
  const projectOf = (t: Template, env: string) =>
    Object.values(t.findResources('AWS::CodeBuild::Project')).find((p) =>
      String(p.Properties.Description).includes(`to ${env} from the build's cloud assembly`),
    )!;

  test('where the environment builds the default image: Docker (privileged), x86, a login to the base registry', () => {
    const project = projectOf(template, 'prod');
    expect(project.Properties.Environment).toMatchObject({ PrivilegedMode: true, Type: 'LINUX_CONTAINER' });
    expect(JSON.stringify(project.Properties.Source.BuildSpec)).toContain('docker login');
  });

  test('where the config names an image: no Docker, no privilege, no base registry login', () => {
    const raw = rawPlaceholderConfig() as {
      environments: Record<string, { inference: Record<string, unknown> }>;
    };
    raw.environments.prod!.inference.image = '444444444444.dkr.ecr.eu-west-1.amazonaws.com/scorer:1';
    const configured = synth(parseConfig(raw)).template;
    const prod = projectOf(configured, 'prod');
    expect(prod.Properties.Environment.PrivilegedMode ?? false).toBe(false);
    expect(JSON.stringify(prod.Properties.Source.BuildSpec)).not.toContain('docker login');
    // The other environments still build the default image.
    expect(projectOf(configured, 'dev').Properties.Environment.PrivilegedMode).toBe(true);
  });
});

describe('release buckets and replication', () => {
  test.each(ENV_NAMES)(
    '%s: replicates to its landing bucket in its account, owner override, replica key',
    (env) => {
      const id = logicalId(releaseBucketOf(env).bucket);
      const props = resourceAt(id).Properties;
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(props.ReplicationConfiguration.Role).toEqual({
        'Fn::GetAtt': [logicalId(stack.replicationRole), 'Arn'],
      });
      const rules = props.ReplicationConfiguration.Rules;
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({
        Status: 'Enabled',
        Destination: {
          Account: environmentOf(config, env).account,
          Bucket: `arn:aws:s3:::${landingBucketName(config, environmentOf(config, env))}`,
          AccessControlTranslation: { Owner: 'Destination' },
          EncryptionConfiguration: {
            ReplicaKmsKeyID: landingKeyAliasArn(config, environmentOf(config, env)),
          },
        },
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
        DeleteMarkerReplication: { Status: 'Disabled' },
      });
      const rtc = environmentOf(config, env).replicationTimeControl;
      if (rtc) {
        expect(rules[0].Destination.ReplicationTime).toEqual({ Status: 'Enabled', Time: { Minutes: 15 } });
        expect(rules[0].Destination.Metrics).toEqual({ Status: 'Enabled', EventThreshold: { Minutes: 15 } });
      } else {
        expect(rules[0].Destination.ReplicationTime).toBeUndefined();
      }
    },
  );

  test('the placeholder config exercises both RTC settings', () => {
    expect(environmentOf(config, 'prod').replicationTimeControl).toBe(true);
    expect(environmentOf(config, 'dev').replicationTimeControl).toBe(false);
  });

  test('each release bucket has its own rotating customer key, and S3 uses it by default', () => {
    for (const env of ENV_NAMES) {
      const props = resourceAt(logicalId(releaseBucketOf(env).bucket)).Properties;
      expect(
        props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: { 'Fn::GetAtt': [logicalId(releaseBucketOf(env).key), 'Arn'] },
      });
      expect(resourceAt(logicalId(releaseBucketOf(env).key)).Properties.EnableKeyRotation).toBe(true);
    }
  });

  test('the replication role has the name the landing bucket policies admit, and only S3 of this account assumes it', () => {
    expect(stack.resolve(stack.replicationRole.roleArn)).toBeDefined();
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: replicationRoleName(config),
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': config.devopsAccount } },
          },
        ],
      },
    });
    expect(replicationRoleArn(config)).toBe(
      `arn:aws:iam::${config.devopsAccount}:role/${replicationRoleName(config)}`,
    );
  });

  test('the replication role reads only the release buckets and writes only the configured landing buckets', () => {
    const roleId = logicalId(stack.replicationRole);
    const [, policy] = ofType('AWS::IAM::Policy').find(([, p]) =>
      (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
    )!;
    const statements = policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>;
    const releaseIds = ENV_NAMES.map((env) => logicalId(releaseBucketOf(env).bucket));
    const landingObjects = ENV_NAMES.map(
      (env) => `arn:aws:s3:::${landingBucketName(config, environmentOf(config, env))}/*`,
    );
    for (const s of statements) {
      const actions: string[] = [s.Action].flat();
      const resourcesOf = [s.Resource].flat();
      const writes = actions.filter(
        (a) => a.startsWith('s3:Replicate') || a === 's3:ObjectOwnerOverrideToBucketOwner',
      );
      if (writes.length > 0) {
        for (const r of resourcesOf) expect(landingObjects).toContain(r);
      }
      const reads = actions.filter((a) => a.startsWith('s3:Get') || a === 's3:ListBucket');
      if (reads.length > 0) {
        for (const r of resourcesOf) {
          expect(releaseIds.some((id) => JSON.stringify(r).includes(`"${id}"`))).toBe(true);
        }
      }
      expect(actions.some((a) => a === 's3:*' || a === 's3:PutObject' || a === 'kms:*')).toBe(false);
    }
    // Replica keys: only the key behind each landing alias, through S3.
    for (const env of ENV_NAMES) {
      expect(statements).toContainEqual({
        Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: `arn:aws:kms:${config.region}:${environmentOf(config, env).account}:key/*`,
        Condition: {
          StringEquals: { 'kms:ViaService': `s3.${config.region}.amazonaws.com` },
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${config.appName}-${env}-landing` },
        },
      });
    }
  });

  test('a replica key alias of the wrong account or shape fails synth with the rule', () => {
    const make = (replicaKeyAliasArn: string) => {
      const s = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
      return () =>
        new ReleaseBucket(s, 'R', {
          envName: 'dev',
          destinationBucketName: 'landing',
          destinationAccount: '222222222222',
          replicaKeyAliasArn,
          replicationRole: new iam.Role(s, 'Role', {
            assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
          }),
          serverAccessLogsBucket: new s3.Bucket(s, 'Logs'),
        });
    };
    expect(make('arn:aws:kms:eu-west-1:222222222222:key/1234')).toThrow(
      /must be a KMS alias ARN .*landingKeyAliasArn/,
    );
    expect(make('arn:aws:kms:eu-west-1:333333333333:alias/x')).toThrow(
      /is in account 333333333333, but the landing bucket is in 222222222222/,
    );
  });
});

describe('security by default', () => {
  test('every bucket is encrypted, TLS-only and blocks all public access', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets).toHaveLength(6); // 3 release + 2 pipeline artifact stores + access logs
    for (const [id, b] of buckets) {
      expect(
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
      ).toMatch(/^(aws:kms|AES256)$/);
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const policy = ofType('AWS::S3::BucketPolicy').find(
        ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id }),
      );
      expect(policy).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  test('only the access-log bucket uses SSE-S3 (log delivery cannot write SSE-KMS); the others use customer keys', () => {
    const algorithms = ofType('AWS::S3::Bucket').map(
      ([, b]) =>
        b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
    );
    expect(algorithms.filter((a) => a === 'AES256')).toHaveLength(1);
    for (const [, key] of ofType('AWS::KMS::Key')) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  test("a release object expires artifactRetentionDays after its last publication, as the rollback's refusal says", () => {
    for (const env of ENV_NAMES) {
      const days = environmentOf(config, env).artifactRetentionDays;
      expect(
        resourceAt(logicalId(releaseBucketOf(env).bucket)).Properties.LifecycleConfiguration.Rules,
      ).toEqual([
        expect.objectContaining({
          ExpirationInDays: days,
          NoncurrentVersionExpiration: { NoncurrentDays: days },
        }),
      ]);
    }
  });

  test('pipeline artifacts expire after the dev artifact retention', () => {
    for (const which of ['release', 'sandpit'] as const) {
      const props = resourceAt(logicalId(stack.artifactBuckets[which])).Properties;
      expect(props.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({
          ExpirationInDays: environmentOf(config, 'dev').artifactRetentionDays,
          Status: 'Enabled',
        }),
      );
      expect(
        props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .SSEAlgorithm,
      ).toBe('aws:kms');
    }
  });

  test('the release artifact store keeps its logical ids (a changed id would replace the bucket)', () => {
    expect(logicalId(stack.artifactBuckets.release)).toMatch(/^Artifacts[0-9A-F]{8}$/);
    expect(logicalId(stack.artifactBuckets.release.encryptionKey as never)).toMatch(
      /^ArtifactsKey[0-9A-F]{8}$/,
    );
    expect(logicalId(stack.builds.release.project)).toMatch(/^BuildProject[0-9A-F]{8}$/);
  });

  test('no IAM statement allows "*" actions on "*" resources', () => {
    const documents = [
      ...ofType('AWS::IAM::Policy').map(([, p]) => p.Properties.PolicyDocument),
      ...ofType('AWS::IAM::Role').flatMap(([, r]) =>
        (r.Properties.Policies ?? []).map((p: any) => p.PolicyDocument),
      ),
    ];
    expect(documents.length).toBeGreaterThan(5);
    for (const doc of documents) {
      for (const s of doc.Statement as Array<Record<string, unknown>>) {
        const actions = [s.Action].flat();
        const res = [s.Resource].flat();
        expect(actions.includes('*') && res.includes('*')).toBe(false);
        expect(s.NotAction).toBeUndefined();
      }
    }
  });

  test('the build roles cannot touch a release bucket or key; each publish role writes its own environment only', () => {
    const roleDocs = (projectPath: string) => {
      const project = stack.node.findChild(projectPath).node.findChild('Project') as any;
      const roleId = logicalId(project.role);
      return JSON.stringify(
        ofType('AWS::IAM::Policy')
          .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
          .map(([, p]) => p.Properties.PolicyDocument),
      );
    };
    const bucketId = (env: (typeof ENV_NAMES)[number]) => logicalId(releaseBucketOf(env).bucket);
    const keyId = (env: (typeof ENV_NAMES)[number]) => logicalId(releaseBucketOf(env).key);
    for (const build of [roleDocs('Build'), roleDocs('SandpitBuild')]) {
      for (const env of ENV_NAMES) {
        expect(build).not.toContain(bucketId(env));
        expect(build).not.toContain(keyId(env));
      }
    }
    for (const env of ENV_NAMES) {
      const publish = roleDocs(`Publish-${env}`);
      expect(publish).toContain(bucketId(env));
      expect(publish).toContain(keyId(env));
      for (const other of ENV_NAMES.filter((e) => e !== env)) {
        expect(publish).not.toContain(bucketId(other));
        expect(publish).not.toContain(keyId(other));
      }
    }
  });

  test('every CodeBuild project encrypts with the artifacts key and logs to its own retained-by-config log group', () => {
    for (const [, p] of ofType('AWS::CodeBuild::Project')) {
      expect(p.Properties.EncryptionKey).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(p.Properties.LogsConfig.CloudWatchLogs.Status).toBe('ENABLED');
    }
    // + the sandpit deploy project's; one per rollback project.
    template.resourceCountIs('AWS::Logs::LogGroup', 4 + 4 * ENV_NAMES.length);
  });

  test('no cdk-nag finding is left unacknowledged', () => {
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });
});

describe('the publish buildspec', () => {
  const publishProject = (env: string) =>
    resourceAt(logicalId(stack.node.findChild(`Publish-${env}`).node.findChild('Project'))).Properties;

  test('is inline (never read from the branch) and passes the grammar and metadata contract', () => {
    const p = publishProject('prod');
    expect(p.Source.Type).toBe('CODEPIPELINE');
    const spec = JSON.parse(p.Source.BuildSpec);
    expect(spec.phases.build.commands.join('\n')).toContain(fs.readFileSync(PUBLISH_SCRIPT, 'utf8'));
    const vars = Object.fromEntries(
      (p.Environment.EnvironmentVariables as Array<{ Name: string; Value: unknown }>).map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(vars).toMatchObject(publishContractVariables());
    expect(vars.RELEASE_BUCKET).toEqual({ Ref: logicalId(releaseBucketOf('prod').bucket) });
    expect(vars.RELEASE_KEY_ARN).toEqual({ 'Fn::GetAtt': [logicalId(releaseBucketOf('prod').key), 'Arn'] });
  });

  test('its commands run the script unchanged (heredoc round trip) against a build output', () => {
    const spec = JSON.parse(publishProject('dev').Source.BuildSpec);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-buildspec-'));
    try {
      const bin = path.join(work, 'bin');
      fs.mkdirSync(bin);
      // Records the destination of each upload; answers the execution lookup with one execution.
      const executions = JSON.stringify({
        pipelineExecutionSummaries: [{ pipelineExecutionId: 'e-1', startTime: '2024-05-01T12:00:00+00:00' }],
      });
      fs.writeFileSync(
        path.join(bin, 'aws'),
        `#!/usr/bin/env bash\nif [ "$1" = s3 ]; then echo "$4" >> "${work}/calls"; else echo '${executions}'; fi\n`,
        { mode: 0o755 },
      );
      const src = path.join(work, 'src');
      fs.mkdirSync(src);
      const sha = 'c'.repeat(40);
      const file = `predict-${sha}.zip`;
      fs.writeFileSync(path.join(src, file), 'zip');
      const digest = createHash('sha256').update('zip').digest('hex');
      fs.writeFileSync(
        path.join(src, MANIFEST_FILE),
        JSON.stringify({
          sha,
          artifacts: [{ kind: 'service', name: 'predict', file, bytes: 3, sha256: digest }],
        }),
      );
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', spec.phases.build.commands.join('\n')], {
        encoding: 'utf8',
        env: {
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          CODEBUILD_SRC_DIR: src,
          ...publishContractVariables(),
          RELEASE_BUCKET: 'release-dev',
          RELEASE_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/k',
          COMMIT_SHA: sha,
          BRANCH: 'sandpit/alice',
          PIPELINE_EXECUTION_ID: 'e-1',
          SANDPIT_BRANCH_PREFIX: 'sandpit/',
          CODEBUILD_INITIATOR: 'codepipeline/biomes-sandpit',
          MANIFEST_SHA256: createHash('sha256')
            .update(fs.readFileSync(path.join(src, MANIFEST_FILE)))
            .digest('hex'),
        },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(work, 'calls'), 'utf8')).toBe(
        `s3://release-dev/alice/predict-${sha}.zip\n`,
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('the sandpit deploy project', () => {
  const [id, project] = ofType('AWS::CodeBuild::Project').find(([, r]) =>
    String(r.Properties.Description).startsWith('Biomes: deploy and verify sandpit stacks'),
  )!;
  const spec = String(project.Properties.Source.BuildSpec);

  test('its inline buildspec checks the owner, then deploys the one biome stack from the assembly (no synth)', () => {
    expect(project.Properties.Source.Type).toBe('CODEPIPELINE');
    const check = spec.indexOf('sandpit-owner/index.mjs');
    const deploy = spec.search(
      /deploy --app \\?"\$CODEBUILD_SRC_DIR\\?" --exclusively --require-approval never/,
    );
    expect(check).toBeGreaterThan(0);
    expect(deploy).toBeGreaterThan(check);
    expect(spec).toMatch(/\\?"\$SANDPIT_STACK\\?"/);
    expect(spec).not.toMatch(/cdk synth|-c biome/);
    // A failed step tells the owner (the owners topic filters on the biome attribute).
    expect(spec).toContain('CODEBUILD_BUILD_SUCCEEDING');
    expect(spec).toContain('arn:aws:sns:eu-west-1:222222222222:biomes-dev-sandpit-owners');
  });

  // The build phase as CodeBuild runs it (buildspec 0.2: the commands in one shell, in order; the
  // first whose status is not 0 fails the phase), with `node` and `npx` stubbed: the owner check
  // answers `checkStatus`; every call is recorded.
  function runDeployStep(checkStatus: number): { status: number | null; calls: string[]; stderr: string } {
    const commands = (JSON.parse(spec) as { phases: { build: { commands: string[] } } }).phases.build
      .commands;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-sandpit-step-'));
    try {
      const bin = path.join(work, 'bin');
      fs.mkdirSync(bin);
      const calls = path.join(work, 'calls');
      const stub = (name: string, status: number) =>
        fs.writeFileSync(
          path.join(bin, name),
          `#!/bin/bash\necho "${name} $*" >> "${calls}"\nexit ${status}\n`,
          {
            mode: 0o755,
          },
        );
      stub('node', checkStatus);
      stub('npx', 0);
      const phase = commands
        .map((c) => `${c}\nstatus=$?; if [ "$status" != 0 ]; then exit "$status"; fi`)
        .join('\n');
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', phase], {
        encoding: 'utf8',
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          BRANCH: 'sandpit/alice',
          SANDPIT_STEP: 'deploy',
          CODEBUILD_SRC_DIR: work,
          CODEBUILD_SRC_DIR_Tools: path.join(work, 'tools'),
        },
      });
      const recorded = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [];
      return { status: r.status, calls: recorded, stderr: r.stderr };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  test('a refused owner check fails the deploy step, and cdk deploy never runs', () => {
    const refused = runDeployStep(1);
    expect(refused.status).not.toBe(0);
    expect(refused.calls).toHaveLength(1);
    expect(refused.calls[0]).toMatch(/^node .*sandpit-owner\/index\.mjs$/);
    // Not vacuous: with the check passing, the same commands run cdk deploy of the biome's stack.
    const allowed = runDeployStep(0);
    expect(allowed).toMatchObject({ status: 0, stderr: '' });
    expect(allowed.calls[1]).toMatch(/^npx --yes aws-cdk@\S+ deploy --app .* biomes-dev-alice$/);
  });

  test('its role may assume the dev sandpit deployer and nothing else of the workload account', () => {
    const roleId = project.Properties.ServiceRole['Fn::GetAtt'][0] as string;
    expect(resourceAt(roleId).Properties.RoleName).toBe('biomes-devops-sandpit-deploy-dev');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const assume = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(assume.map((s) => s.Resource)).toEqual([
      'arn:aws:iam::222222222222:role/biomes-dev-sandpit-deployer',
    ]);
    const workload = statements.filter((s) => JSON.stringify(s.Resource).includes('222222222222'));
    expect(workload.map((s) => s.Sid).sort()).toEqual([
      'AssumeSandpitDeployer',
      'OwnerNotices',
      'OwnerNoticesKey',
    ]);
    expect(id).toBeDefined();
  });
});
