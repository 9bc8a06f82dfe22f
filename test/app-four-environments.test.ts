/**
 * A fourth environment is data (issue "environments as data"): the whole app built with qa between
 * dev and staging. Apart from test/app.test.ts so the two whole-app files run on both test workers.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import { parseConfig } from '../lib/config';
import { rawPlaceholderConfig, testApp, unacknowledgedFindings } from './fixtures/config';

// Template JSON is walked generically below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

describe('a fourth environment is data: qa between dev and staging (promotion list and cdk.json values only)', () => {
  const raw = rawPlaceholderConfig() as Loose;
  raw.promotion.splice(1, 0, { env: 'qa', approvalBefore: true });
  raw.accounts.qa = '555555555555';
  raw.environments.qa = structuredClone(raw.environments.staging);
  const config = parseConfig(raw);
  // With aws-cdk-lib's CloudFormation template validation too: `cdk synth` (npm test) runs it on the
  // three-environment app; this is the one other configuration it sees.
  const app = testApp({}, { cloudFormationValidation: true });
  const built = buildApp(app, config, { kind: 'all' });
  const stack = (name: string) => built.stacks.find((s) => s.stackName === name);
  // One synth, with every check cdk synth runs and the template validation; the template tests below
  // read the assembly it leaves. With a finding, that synth fails: the findings test names it, and the
  // template tests fail on the same ValidationFailed.
  let findings: string[] = [];
  beforeAll(() => {
    findings = unacknowledgedFindings(app);
  });

  test('qa gets its shared stack and mainline biome, in its own account', () => {
    expect(built.stacks.map((s) => s.stackName).sort()).toEqual(
      [
        'biomes-devops',
        'biomes-dev-shared',
        'biomes-qa-shared',
        'biomes-staging-shared',
        'biomes-prod-shared',
        'biomes-dev-main',
        'biomes-qa-main',
        'biomes-staging-main',
        'biomes-prod-main',
      ].sort(),
    );
    expect(stack('biomes-qa-shared')?.account).toBe('555555555555');
    expect(stack('biomes-qa-main')?.account).toBe('555555555555');
    expect(built.shared.qa?.terminationProtection).toBe(false);
    expect(built.devops!.dependencies.map((s) => s.stackName)).toContain('biomes-qa-shared');
  });

  test('the release pipeline promotes dev -> qa -> staging -> prod, with the approvals the list asks for', () => {
    const template = Template.fromStack(built.devops!).toJSON() as Loose;
    const pipelines = Object.values(template.Resources).filter(
      (r: Loose) => r.Type === 'AWS::CodePipeline::Pipeline',
    ) as Loose[];
    const stages = pipelines.map((p) => p.Properties.Stages.map((s: { Name: string }) => s.Name));
    const steps = (env: string) => [`Infrastructure${env}`, `Publish${env}`, `Verify${env}`];
    expect(stages).toContainEqual([
      'Source',
      'Build',
      ...steps('Dev'),
      'ApproveQa',
      ...steps('Qa'),
      'ApproveStaging',
      ...steps('Staging'),
      'ApproveProd',
      ...steps('Prod'),
    ]);
    // The sandpit pipeline still goes to the first environment only.
    expect(stages).toContainEqual(['Source', 'Build', 'InfrastructureDev', 'PublishDev', 'VerifyDev']);
  });

  test('qa gets its release bucket replicating into its own landing bucket, and its own publish project', () => {
    const template = Template.fromStack(built.devops!);
    const json = JSON.stringify(template.toJSON());
    expect(json).toContain('biomes-qa-landing-555555555555-eu-west-1');
    expect(json).toContain('arn:aws:kms:eu-west-1:555555555555:alias/biomes-qa-landing');
    const projects = Object.values(template.findResources('AWS::CodeBuild::Project')).map(
      (p) => p.Properties.Description as string,
    );
    expect(projects).toContain('Biomes: publish build artifacts to the qa release bucket');
  });

  test('no unacknowledged cdk-nag finding with four environments', () => {
    expect(findings).toEqual([]);
  });
});
