/**
 * Runs the synthesized Step Functions definition of a biome with aws-local-stepfunctions, the Lambda
 * tasks replaced by local functions: what runs is exactly what CloudFormation would deploy.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { ExecutionError } from 'aws-local-stepfunctions';
import { INGEST_ERRORS } from '../../lambda/ingest/errors';
import { PREDICT_ERRORS } from '../../lambda/predict/errors';
import { BiomeStack } from '../../lib/workload/biome/biome-stack';
import { WORKFLOW_STATES } from '../../lib/workload/biome/workflow';
import { DRY_RUN_STATUS, INTEGRATION_BATCH, integrationProblems } from '../integration/mainline';
import { testApp, testConfig } from '../fixtures/config';
import { type Json, type LocalRun, NamedError, entered, runLocally } from './local-run';

/** Resolves the Fn::Join of the definition; each Ref becomes a fake ARN named after the logical id. */
function resolveDefinition(template: Template): Json {
  // The biome's workflow; its train workflow (test/workflow/train-workflow.test.ts) is the other one.
  const machines = Object.fromEntries(
    Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) =>
      id.startsWith('WorkflowStateMachine'),
    ),
  );
  expect(Object.keys(machines)).toHaveLength(1);
  const definition = Object.values(machines)[0]?.Properties.DefinitionString as
    string | { 'Fn::Join': [string, (string | { Ref: string })[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as Json;
  const text = definition['Fn::Join'][1]
    .map((part) =>
      typeof part === 'string' ? part : `arn:aws:lambda:eu-west-1:222222222222:function:${part.Ref}:live`,
    )
    .join('');
  return JSON.parse(text) as Json;
}

let definition: Json;
let resources: Record<string, string>;

beforeAll(() => {
  const stack = new BiomeStack(testApp(), 'biomes-dev-alice', {
    config: testConfig(),
    envName: 'dev',
    biome: 'alice',
    models: ['demo-scorer'],
  });
  const template = Template.fromStack(stack);
  definition = resolveDefinition(template);
  const states = (
    (definition.States as Json)[WORKFLOW_STATES.map] as { ItemProcessor: { States: Record<string, Json> } }
  ).ItemProcessor.States;
  resources = {
    ingest: states[WORKFLOW_STATES.ingest]?.Resource as string,
    predict: states[WORKFLOW_STATES.predict]?.Resource as string,
  };
});

const samples = [
  { sampleId: 's-1', features: [1, 2, 3] },
  { sampleId: 's-2', features: [4, 5, 6] },
];

/** Local stand-ins for the services; they record what the workflow sent them. */
function services(
  overrides: { ingest?: (input: Json) => Promise<Json>; predict?: (input: Json) => Promise<Json> } = {},
) {
  const calls = { ingest: [] as Json[], predict: [] as Json[] };
  const ingest = async (input: Json) => {
    calls.ingest.push(input);
    return overrides.ingest ? overrides.ingest(input) : { sampleId: input.sampleId, status: 'inserted' };
  };
  const predict = async (input: Json) => {
    calls.predict.push(input);
    return overrides.predict
      ? overrides.predict(input)
      : { sampleId: input.sampleId, model: 'alice/demo-scorer-abc.tar.gz', prediction: 0.5, predictionId: 7 };
  };
  return { calls, handlers: { [WORKFLOW_STATES.ingest]: ingest, [WORKFLOW_STATES.predict]: predict } };
}

function execute(input: Json, handlers: Record<string, (input: Json) => Promise<Json>>): Promise<LocalRun> {
  // The real backoff is seconds to minutes; the test keeps the retry logic and skips the waiting.
  return runLocally(definition, input, {
    handlers,
    noRetryWait: [WORKFLOW_STATES.ingest, WORKFLOW_STATES.predict],
  });
}

async function run(input: Json, handlers: Record<string, (input: Json) => Promise<Json>>): Promise<Json> {
  const outcome = await execute(input, handlers);
  if (outcome.error instanceof Error) throw outcome.error;
  if (outcome.error) throw new Error('the execution failed with a non-Error', { cause: outcome.error });
  return outcome.output!;
}

test("the release's integration batch (dry run) passes through the workflow to an output its checks accept", async () => {
  const model = 'main/demo-scorer-0123456789abcdef0123456789abcdef01234567.tar.gz';
  const { calls, handlers } = services({
    // What the services answer a dry-run sample: nothing stored.
    ingest: (input) => Promise.resolve({ sampleId: input.sampleId, status: DRY_RUN_STATUS }),
    predict: (input) =>
      Promise.resolve({ sampleId: input.sampleId, model, prediction: 0.7, label: 1, predictionId: null }),
  });
  const output = await run(structuredClone(INTEGRATION_BATCH), handlers);
  expect(integrationProblems(output, model)).toEqual([]);
  // Each service got the sample as submitted, dryRun included.
  expect(calls.ingest.every((c) => c.dryRun === true)).toBe(true);
  expect(calls.predict.every((c) => c.dryRun === true)).toBe(true);
});

test('the tasks invoke the live aliases of the biome services', () => {
  expect(resources.ingest).toMatch(/function:Serviceingest.*:live$/);
  expect(resources.predict).toMatch(/function:Servicepredict.*:live$/);
});

test('success: every sample is ingested, scored and its outcome recorded', async () => {
  const { calls, handlers } = services();
  const result = await run({ samples }, handlers);
  expect(result).toEqual({
    outcomes: samples.map((s) => ({
      sampleId: s.sampleId,
      ingested: 'inserted',
      model: 'alice/demo-scorer-abc.tar.gz',
      prediction: 0.5,
      predictionId: 7,
    })),
  });
  // Each service receives exactly a sample, not the workflow's bookkeeping.
  expect(calls.ingest).toEqual(samples);
  expect(calls.predict).toEqual(samples);
});

test('a batch of 1,400 samples: no state after the Map carries more than Step Functions allows (256 KB)', async () => {
  // States.DataLimitExceeded is not caught by States.ALL; the local interpreter does not enforce the
  // limit, so the test measures: the Map's result replaces the samples (no ResultPath), and the
  // largest state, the outcomes, stays under 256 KB with a realistic model key.
  const model = `main/demo-scorer-${'0'.repeat(40)}.tar.gz`;
  const many = Array.from({ length: 1400 }, (_, i) => ({ sampleId: `s-${i}`, features: [42, 55000, 3] }));
  const { handlers } = services({
    predict: (input) =>
      Promise.resolve({
        sampleId: input.sampleId,
        model,
        prediction: 0.73,
        predictionId: 100000 + sampleIndex(input),
      }),
  });
  const output = await run({ samples: many }, handlers);
  expect(output.outcomes).toHaveLength(1400);
  expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThan(256 * 1024);
  const map = Object.values(definition.States as Record<string, Json>).find((st) => st.Type === 'Map');
  expect(map).not.toHaveProperty('ResultPath');
});

function sampleIndex(input: Json): number {
  return Number(String(input.sampleId).slice(2));
}

test('a retryable task error is retried, then the batch succeeds', async () => {
  let failures = 0;
  const { calls, handlers } = services({
    ingest: (input) => {
      if (input.sampleId === 's-2' && failures === 0) {
        failures++;
        return Promise.reject(new NamedError(INGEST_ERRORS.databaseResuming, 'still resuming'));
      }
      return Promise.resolve({ sampleId: input.sampleId, status: 'inserted' });
    },
  });
  const result = (await run({ samples }, handlers)) as { outcomes: Json[] };
  expect(failures).toBe(1);
  expect(calls.ingest.filter((c) => c.sampleId === 's-2')).toHaveLength(2);
  expect(result.outcomes.map((o) => o.sampleId)).toEqual(['s-1', 's-2']);
});

test('a throttled Lambda invocation is retried', async () => {
  let throttled = false;
  const { calls, handlers } = services({
    predict: (input) => {
      if (!throttled) {
        throttled = true;
        return Promise.reject(new NamedError('Lambda.TooManyRequestsException', 'Rate exceeded'));
      }
      return Promise.resolve({ sampleId: input.sampleId, model: 'm', prediction: 1, predictionId: 1 });
    },
  });
  await expect(run({ samples: [samples[0]] }, handlers)).resolves.toBeDefined();
  expect(calls.predict).toHaveLength(2);
});

test('a non-retryable error is caught into the failure state, which names the error', async () => {
  const { calls, handlers } = services({
    predict: () =>
      Promise.reject(new NamedError(PREDICT_ERRORS.noModel, 'No model is live in this biome yet')),
  });
  const outcome = await execute({ samples: [samples[0]] }, handlers);
  expect(outcome.error).toBeInstanceOf(ExecutionError);
  expect(outcome.events.some((e) => e.type === 'StateCaught' && e.state.name === WORKFLOW_STATES.map)).toBe(
    true,
  );
  expect(entered(outcome.events)).toContain(WORKFLOW_STATES.failed);
  expect(entered(outcome.events)).not.toContain(WORKFLOW_STATES.done);
  const failed = outcome.events.find((e) => e.type === 'ExecutionFailed') as {
    Error: string;
    Cause: unknown;
  };
  expect(failed.Error).toBe(PREDICT_ERRORS.noModel);
  expect(String(failed.Cause)).toMatch(/No model is live/);
  expect(calls.predict).toHaveLength(1); // not retried
});

test('a retryable error that persists ends in the failure state after the retries', async () => {
  const { calls, handlers } = services({
    predict: () => Promise.reject(new NamedError(PREDICT_ERRORS.modelNotReady, 'loading')),
  });
  const outcome = await execute({ samples: [samples[0]] }, handlers);
  expect(outcome.error).toBeInstanceOf(ExecutionError);
  expect(entered(outcome.events)).toContain(WORKFLOW_STATES.failed);
  expect(calls.predict).toHaveLength(4); // first attempt + 3 retries
});

test("an item that is not a sample fails the batch with the service's explanation", async () => {
  const { calls, handlers } = services({
    ingest: () =>
      Promise.reject(new NamedError(INGEST_ERRORS.invalidSample, 'Invalid sample (features: Required).')),
  });
  const outcome = await execute({ samples: [{ sampleId: 'no-features' }] }, handlers);
  expect(outcome.error).toBeInstanceOf(ExecutionError);
  expect(entered(outcome.events)).toContain(WORKFLOW_STATES.failed);
  const failed = outcome.events.find((e) => e.type === 'ExecutionFailed') as {
    Error: string;
    Cause: unknown;
  };
  expect(failed.Error).toBe(INGEST_ERRORS.invalidSample);
  expect(calls.ingest).toEqual([{ sampleId: 'no-features' }]);
  expect(calls.predict).toHaveLength(0);
});
