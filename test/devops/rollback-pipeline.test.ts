/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized templates are untyped JSON. */
/**
 * The rollback pipelines of the DevOps stack (lib/devops/rollback-pipeline.ts): one per environment,
 * its variables, its stages (an approval where the environment is protected), and its role's reach,
 * proven with the IAM evaluator of test/iam/policies.ts: only re-publishing objects already in that
 * environment's release bucket.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { rollbackPipelineName } from '../../lib/devops/rollback-contract';
import { testApp, testConfig } from '../fixtures/config';
import { type Decision, PolicyWorld } from '../iam/policies';

const config = testConfig();
const app = testApp();
const all = buildApp(app, config, { kind: 'all' });
const devops = all.devops!;
const template = Template.fromStack(devops);
const world = PolicyWorld.fromAssemblies(app.synth());
const pipelines = template.findResources('AWS::CodePipeline::Pipeline');
const pipelineNamed = (name: string) =>
  Object.values(pipelines).find((p: any) => p.Properties.Name === name) as any;

describe.each(config.environments.map((e) => [e.name, e.protected] as const))('%s', (env, isProtected) => {
  const p = () => pipelineNamed(rollbackPipelineName(config.appName, env));

  test('a V2 pipeline named for npm run rollback, with the variables env, biome, name, sha', () => {
    expect(p().Properties.PipelineType).toBe('V2');
    expect(p().Properties.Variables).toEqual([
      expect.objectContaining({ Name: 'env', DefaultValue: env }),
      expect.objectContaining({ Name: 'biome', DefaultValue: 'main' }),
      expect.objectContaining({ Name: 'name' }),
      expect.objectContaining({ Name: 'sha' }),
    ]);
    expect(p().Properties.Variables[2].DefaultValue).toBeUndefined();
    // Never started by a push: only by npm run rollback.
    expect(p().Properties.Triggers ?? []).toEqual([]);
    const source = p().Properties.Stages[0].Actions[0];
    expect(source.Configuration.DetectChanges).toBe(false);
  });

  test(`stages: Source, Check, ${isProtected ? 'Approve, ' : ''}Republish; both steps get the variables`, () => {
    const stages = p().Properties.Stages as any[];
    expect(stages.map((s) => s.Name)).toEqual(
      isProtected ? ['Source', 'Check', 'Approve', 'Republish'] : ['Source', 'Check', 'Republish'],
    );
    for (const [stage, step] of [
      ['Check', 'check'],
      ['Republish', 'publish'],
    ]) {
      const action = stages.find((s) => s.Name === stage).Actions[0];
      const variables = JSON.parse(action.Configuration.EnvironmentVariables) as {
        name: string;
        value: string;
      }[];
      expect(Object.fromEntries(variables.map((v) => [v.name, v.value]))).toEqual({
        ROLLBACK_STEP: step,
        ROLLBACK_ENV: '#{variables.env}',
        ROLLBACK_BIOME: '#{variables.biome}',
        ROLLBACK_NAME: '#{variables.name}',
        ROLLBACK_SHA: '#{variables.sha}',
        PIPELINE_EXECUTION_ID: '#{codepipeline.PipelineExecutionId}',
      });
    }
  });
});

describe("the rollback role re-publishes objects of its environment's release bucket, nothing else", () => {
  const role = (env: string) => world.roleOf(devops.rollbacks[env]!.project);
  const bucket = (env: string) => world.arnOf(devops.releaseBuckets[env]!.bucket);
  const name = (env: string) => devops.releaseBuckets[env]!.bucket;
  const object = (env: string) => `${bucket(env)}/main/ingest-${'a'.repeat(40)}.zip`;
  const bucketName = (env: string) => world.arnOf(name(env)).replace('arn:aws:s3:::', '');

  test('a copy of an object of the same bucket onto it is allowed; reading and listing too', async () => {
    expect(
      await world.can(role('prod'), 's3:PutObject', object('prod'), {
        's3:x-amz-copy-source': `${bucketName('prod')}/main/ingest-${'a'.repeat(40)}.zip`,
      }),
    ).toBe<Decision>('Allowed');
    expect(await world.can(role('prod'), 's3:GetObject', object('prod'))).toBe<Decision>('Allowed');
    expect(await world.can(role('prod'), 's3:ListBucket', bucket('prod'))).toBe<Decision>('Allowed');
  });

  test('an upload (no copy source), a copy from elsewhere, or another environment is refused', async () => {
    expect(await world.can(role('prod'), 's3:PutObject', object('prod'))).not.toBe<Decision>('Allowed');
    expect(
      await world.can(role('prod'), 's3:PutObject', object('prod'), {
        's3:x-amz-copy-source': `${bucketName('dev')}/main/ingest-${'a'.repeat(40)}.zip`,
      }),
    ).not.toBe<Decision>('Allowed');
    expect(
      await world.can(role('prod'), 's3:PutObject', object('staging'), {
        's3:x-amz-copy-source': `${bucketName('staging')}/main/ingest-${'a'.repeat(40)}.zip`,
      }),
    ).not.toBe<Decision>('Allowed');
    expect(await world.can(role('prod'), 's3:DeleteObject', object('prod'))).not.toBe<Decision>('Allowed');
    expect(await world.can(role('dev'), 's3:GetObject', object('prod'))).not.toBe<Decision>('Allowed');
  });
});
