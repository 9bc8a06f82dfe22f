/** `npm run rollback`: what it starts (aws-sdk-client-mock), and what it refuses before any AWS call. */
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cdkPackagesAmong, packagesLoadedBy, runTs } from '../fixtures/scripts';
import { RollbackError, rollbackRequest, startRollback } from '../../lib/devops/release/rollback-command';
import { SERVICES } from '../../lambda/services';
import { testConfig } from '../fixtures/config';

const SHA = 'a'.repeat(40);
const config = testConfig();
const pipeline = mockClient(CodePipelineClient);
beforeEach(() => pipeline.reset());
afterAll(() => pipeline.restore());

test('starts <app>-rollback-<env> with the variables env, biome, name, sha and prints the link and the ledger query', async () => {
  pipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-1' });
  const request = rollbackRequest(config, { env: 'prod', service: 'ingest', to: SHA });
  const { executionId, lines } = await startRollback(new CodePipelineClient({}), config, request);
  expect(executionId).toBe('exec-1');
  expect(pipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
    name: 'biomes-rollback-prod',
    variables: [
      { name: 'env', value: 'prod' },
      { name: 'biome', value: 'main' },
      { name: 'name', value: 'ingest' },
      { name: 'sha', value: SHA },
    ],
  });
  expect(lines[0]).toBe(
    `rollback of service ingest in prod/main to ${SHA} started: https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/biomes-rollback-prod/executions/exec-1/timeline?region=eu-west-1`,
  );
  expect(lines[1]).toContain('waits for an approval');
  expect(lines[3]).toContain('/biomes/prod/shared/ledger-table-name');
  expect(lines[3]).toContain('"HISTORY#service#ingest#"');
});

test('a model of a sandpit, in dev (no approval)', async () => {
  pipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-2' });
  const request = rollbackRequest(config, { env: 'dev', model: 'demo-scorer', to: SHA, biome: 'alice' });
  expect(request).toMatchObject({ kind: 'model', biome: 'alice', pipelineName: 'biomes-rollback-dev' });
  const { lines } = await startRollback(new CodePipelineClient({}), config, request);
  expect(lines[1]).not.toContain('approval');
});

test.each([
  ['no --env', { service: 'ingest', to: SHA }, /--env is required/],
  ['an unknown environment', { env: 'qa', service: 'ingest', to: SHA }, /qa/],
  [
    'both --service and --model',
    { env: 'prod', service: 'ingest', model: 'demo-scorer', to: SHA },
    /exactly one of --service and --model/,
  ],
  ['neither', { env: 'prod', to: SHA }, /exactly one of --service and --model/],
  [
    'an unknown service',
    { env: 'prod', service: 'no-such-service', to: SHA },
    new RegExp(
      `--service no-such-service: no such service \\(lambda/services\\.ts has: ${Object.keys(SERVICES).join(', ')}\\)`,
    ),
  ],
  [
    'an unknown model',
    { env: 'prod', model: 'churn', to: SHA },
    /--model churn: no such model \(models\/ has: demo-scorer\)/,
  ],
  ['an off-grammar name', { env: 'prod', service: 'In-gest', to: SHA }, /--service In-gest/],
  ['no --to', { env: 'prod', service: 'ingest' }, /--to <sha> is required/],
  ['a short SHA', { env: 'prod', service: 'ingest', to: 'abc1234' }, /--to abc1234: .*git rev-parse/],
  ['a bad biome', { env: 'prod', service: 'ingest', to: SHA, biome: 'Alice' }, /--biome/],
])('refuses %s before any AWS call', (_why, args, message) => {
  expect(() => rollbackRequest(config, args)).toThrow(RollbackError);
  expect(() => rollbackRequest(config, args)).toThrow(message);
  expect(pipeline).not.toHaveReceivedAnyCommand();
});

test('a refused start says which account and permission', async () => {
  pipeline
    .on(StartPipelineExecutionCommand)
    .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
  const request = rollbackRequest(config, { env: 'prod', service: 'ingest', to: SHA });
  await expect(startRollback(new CodePipelineClient({}), config, request)).rejects.toThrow(
    /could not start biomes-rollback-prod in the DevOps account 111111111111 .*AccessDeniedException: not authorized; use credentials of that account allowed codepipeline:StartPipelineExecution/,
  );
});

test('the CLI exits 1 with the message, before any AWS call, on bad arguments', () => {
  const r = runTs('scripts/rollback.ts', ['--env', 'prod', '--to', SHA], {
    env: { ...process.env, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('name exactly one of --service and --model');
});

test('npm run rollback loads no CDK library: it starts in about half a second, not one', () => {
  const packages = packagesLoadedBy('scripts/rollback.ts');
  expect(packages).toContain('@aws-sdk/client-codepipeline');
  expect(cdkPackagesAmong(packages)).toEqual([]);
});
