/**
 * The release path of docs/design.md: the build synthesizes the assembly once, and each environment
 * stage runs Infrastructure (cdk deploy of that assembly through the workload account's bootstrap
 * roles) -> Publish -> Verify (the ledger and the integration test, through the read-and-verify role).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { parse as parseYaml } from 'yaml';
import { buildApp, COMMIT_OUTPUT } from '../../lib/app';
import { environmentOf } from '../../lib/config';
import { BUILD_SPEC_PATH } from '../../lib/devops/build-project';
import { bootstrapRoleName, cdkCliVersion } from '../../lib/devops/infrastructure-project';
import { BUILD_ARTIFACTS, stageName } from '../../lib/devops/pipelines';
import { releaseVerifyRoleArn, verifyProjectRoleArn, verifyProjectRoleName } from '../../lib/naming';
import { REPO_ROOT } from '../../lib/repo';
import { testApp, testConfig, sandpitSelection } from '../fixtures/config';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const config = testConfig();
const SHA = 'f'.repeat(40);
const built = buildApp(testApp(), config, { kind: 'all' }, { commit: SHA });
const devops = Template.fromStack(built.devops!);
const resources = devops.toJSON().Resources as Record<string, Json>;
const projects = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CodeBuild::Project');
const release = Object.values(resources).find(
  (r) => r.Type === 'AWS::CodePipeline::Pipeline' && r.Properties.ExecutionMode === 'SUPERSEDED',
)!;
const stages = release.Properties.Stages as { Name: string; Actions: Json[] }[];

function projectOfAction(action: Json): Json {
  const ref = action.Configuration.ProjectName.Ref as string;
  return resources[ref]!;
}

function policiesOfRole(roleRef: Json): Json[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((p) => (p.Properties.Roles as Json[]).some((r) => JSON.stringify(r) === JSON.stringify(roleRef)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
}

const roleRefOf = (project: Json): Json => ({
  Ref: (project.Properties.ServiceRole['Fn::GetAtt'] as string[])[0],
});

describe.each(config.environments.map((e) => e.name))('the %s stage', (env) => {
  const environment = environmentOf(config, env);
  const at = (step: 'Infrastructure' | 'Publish' | 'Verify') =>
    stages.findIndex((s) => s.Name === stageName(step, env));

  test('runs Infrastructure -> Publish -> Verify, in that order, after its approval', () => {
    expect(at('Infrastructure')).toBeGreaterThan(1);
    expect(at('Publish')).toBe(at('Infrastructure') + 1);
    expect(at('Verify')).toBe(at('Publish') + 1);
    if (environment.approvalBefore)
      expect(stages[at('Infrastructure') - 1]?.Name).toBe(stageName('Approve', env));
  });

  test("Infrastructure deploys the assembly, never synthesizes, only this environment's shared and main stacks", () => {
    const action = stages[at('Infrastructure')]!.Actions[0]!;
    expect(action.InputArtifacts).toEqual([{ Name: BUILD_ARTIFACTS.assembly }]);
    const spec = JSON.stringify(projectOfAction(action).Properties.Source.BuildSpec);
    expect(spec).toContain(
      `npx --yes aws-cdk@${cdkCliVersion()} deploy --app \\\\\\"$CODEBUILD_SRC_DIR\\\\\\" --exclusively --require-approval never`,
    );
    expect(spec).toContain(`biomes-${env}-shared biomes-${env}-main`);
    expect(spec).not.toMatch(/cdk synth|npm ci/);
  });

  test("its role may assume only this environment's bootstrap deploy and publishing roles", () => {
    const project = projectOfAction(stages[at('Infrastructure')]!.Actions[0]!);
    const assumes = policiesOfRole(roleRefOf(project)).filter((s) =>
      [s.Action].flat().includes('sts:AssumeRole'),
    );
    expect(assumes).toHaveLength(1);
    const roles = (assumes[0]!.Resource as Json[]).map((r) => JSON.stringify(r));
    const expected = ['deploy-role', 'file-publishing-role', 'image-publishing-role'].map((role) =>
      bootstrapRoleName(config.bootstrapQualifier, role, environment.account, config.region),
    );
    expect(roles).toHaveLength(expected.length);
    expected.forEach((name, i) => {
      expect(roles[i]).toContain(`:iam::${environment.account}:role/${name}`);
    });
    // No other environment's account, no wildcard role.
    for (const other of config.environments.filter((e) => e.name !== env)) {
      expect(JSON.stringify(assumes)).not.toContain(other.account);
    }
    expect(JSON.stringify(assumes)).not.toContain('role/*');
  });

  test('Verify runs the tested tool with the read-and-verify role of this environment, and may assume only it', () => {
    const action = stages[at('Verify')]!.Actions[0]!;
    expect(action.InputArtifacts).toEqual([
      { Name: BUILD_ARTIFACTS.packages },
      { Name: BUILD_ARTIFACTS.tools },
    ]);
    const project = projectOfAction(action);
    const variables = Object.fromEntries(
      (project.Properties.Environment.EnvironmentVariables as { Name: string; Value: string }[]).map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(variables).toMatchObject({
      VERIFY_ENV: env,
      VERIFY_ROLE_ARN: releaseVerifyRoleArn(config, environment),
      APP_NAME: 'biomes',
      // A canary's bake on top (prod: 30 + 10).
      LEDGER_TIMEOUT_MINUTES: String(
        environment.verifyTimeoutMinutes + (environment.canary?.bakeMinutes ?? 0),
      ),
    });
    const role = resources[(project.Properties.ServiceRole['Fn::GetAtt'] as string[])[0]!]!;
    expect(role.Properties.RoleName).toBe(verifyProjectRoleName(config, environment));
    const assumes = policiesOfRole(roleRefOf(project)).filter((s) =>
      [s.Action].flat().includes('sts:AssumeRole'),
    );
    expect(assumes).toEqual([
      {
        Sid: 'AssumeVerifyRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: releaseVerifyRoleArn(config, environment),
      },
    ]);
  });
});

test('the build outputs the packages, the assembly synthesized once with the commit, and the tools', () => {
  const spec = parseYaml(fs.readFileSync(path.join(REPO_ROOT, BUILD_SPEC_PATH), 'utf8')) as Json;
  expect(Object.keys(spec.artifacts['secondary-artifacts'] as Json).sort()).toEqual(
    Object.values(BUILD_ARTIFACTS).sort(),
  );
  expect(spec.artifacts['secondary-artifacts'][BUILD_ARTIFACTS.assembly]['base-directory']).toBe('cdk.out');
  const commands = (spec.phases.build.commands as string[]).join('\n');
  expect(commands).toContain('npx cdk synth --quiet -c commit="$COMMIT_SHA"');
  expect(commands.indexOf('npx cdk synth')).toBeLessThan(commands.indexOf('npm run package'));
});

test('every stack records the commit as an output, never as a stack tag', () => {
  for (const stack of built.stacks) {
    const template = Template.fromStack(stack).toJSON();
    expect(template.Outputs[COMMIT_OUTPUT].Value).toBe(SHA);
    expect(JSON.stringify(template)).not.toMatch(new RegExp(`"Key":"commit","Value":"${SHA}"`));
  }
});

describe("the read-and-verify role in each environment's main stack", () => {
  test.each(config.environments.map((e) => e.name))(
    '%s: trusts only the DevOps verify project; reads the ledger, runs the workflow, wakes a sleeping endpoint, nothing else',
    (env) => {
      const environment = environmentOf(config, env);
      const main = built.biomes.find((b) => b.stackName === `biomes-${env}-main`)!;
      const template = Template.fromStack(main).toJSON();
      const roles = Object.values(template.Resources as Record<string, Json>).filter(
        (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === `biomes-${env}-release-verify`,
      );
      expect(roles).toHaveLength(1);
      const trust = roles[0]!.Properties.AssumeRolePolicyDocument.Statement as Json[];
      expect(trust).toHaveLength(1);
      expect(JSON.stringify(trust[0]!.Principal)).toContain(`:iam::${config.devopsAccount}:root`);
      expect(trust[0]!.Condition).toEqual({
        ArnEquals: { 'aws:PrincipalArn': verifyProjectRoleArn(config, environment) },
      });

      const policy = Object.values(template.Resources as Record<string, Json>).find(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('ReleaseVerifier'),
      )!;
      const statements = policy.Properties.PolicyDocument.Statement as Json[];
      const actions = statements.flatMap((s) => [s.Action].flat()).sort();
      // Where inference sleeps, a release whose model waits for the endpoint wakes it (its owner only).
      const sleeps = environment.inference.schedule !== undefined;
      expect(actions).toEqual([
        'dynamodb:GetItem',
        'dynamodb:Query',
        ...(sleeps ? ['lambda:InvokeFunction'] : []),
        'ssm:GetParameter',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      if (sleeps) {
        const wake = statements.find((s) => s.Action === 'lambda:InvokeFunction')!;
        expect(JSON.stringify(wake.Resource)).toContain(`:function:biomes-${env}-shared-inference-endpoint`);
      }
      const start = statements.find((s) => s.Action === 'states:StartExecution')!;
      expect(start.Resource).toEqual({ Ref: expect.stringMatching(/^WorkflowStateMachine/) });
      const ledger = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb'))!;
      expect(JSON.stringify(ledger.Resource)).toContain(':table/');
      expect(JSON.stringify(ledger.Resource)).toContain('SsmParameterValuebiomes');
    },
  );

  test('sandpits have none', () => {
    const alice = buildApp(testApp(), config, sandpitSelection('alice')).biomes[0]!;
    expect(alice.releaseVerifier).toBeUndefined();
    expect(JSON.stringify(Template.fromStack(alice).toJSON())).not.toContain('release-verify');
  });
});

test('projects run with the workload stacks synthesized with the configured bootstrap qualifier', () => {
  const main = Template.fromStack(built.biomes[0]!).toJSON();
  expect(JSON.stringify(main.Parameters.BootstrapVersion)).toContain(
    `/cdk-bootstrap/${config.bootstrapQualifier}/version`,
  );
  expect(projects.length).toBeGreaterThan(0);
});
