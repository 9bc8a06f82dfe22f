/** The verify step of a release: every way the ledger and the integration test can end. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { inferenceWaker } from '../../lib/devops/release/inference-waker';
import { dynamoLedgerReader } from '../../lib/devops/release/ledger-reader';
import {
  explainAccessError,
  type ExecutionStatus,
  type LedgerReader,
  type LiveView,
  type OutcomeView,
  runIntegrationTest,
  VerifyError,
  type VerifyDeps,
  waitUntilLive,
} from '../../lib/devops/release/verify';
import { INTEGRATION_BATCH, integrationProblems } from '../integration/mainline';

const SHA = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);
const OLDER = 'c'.repeat(40);
const ARTIFACTS = [
  { kind: 'service', name: 'ingest' },
  { kind: 'model', name: 'demo-scorer' },
] as const;
const TARGET = `main/demo-scorer-${SHA}.tar.gz`;

/** A ledger whose answers change over time: `script[name]` is consulted on each read, in order. */
function fakeLedger(
  live: Record<string, (LiveView | undefined)[]>,
  outcomes: Record<string, OutcomeView[][]> = {},
): LedgerReader {
  const calls: Record<string, number> = {};
  const next = <T>(table: Record<string, T[]>, key: string, fallback: T): T => {
    const list = table[key];
    if (!list || list.length === 0) return fallback;
    const i = Math.min(calls[`${key}`] ?? 0, list.length - 1);
    return list[i] ?? fallback;
  };
  return {
    live: (_biome, kind, name) => {
      const key = `${kind}:${name}`;
      const value = next(live, key, undefined);
      return Promise.resolve(value);
    },
    outcomes: (_biome, kind, name) => {
      const key = `${kind}:${name}`;
      const value = next(outcomes, key, []);
      calls[key] = (calls[key] ?? 0) + 1;
      return Promise.resolve(value);
    },
  };
}

function deps(
  ledger: LedgerReader,
  workflow?: Partial<VerifyDeps['workflow']>,
): VerifyDeps & { lines: string[] } {
  let clock = 0;
  const lines: string[] = [];
  return {
    ledger,
    workflow: {
      start: workflow?.start ?? (() => Promise.resolve('arn:exec')),
      describe: workflow?.describe ?? (() => Promise.resolve({ status: 'SUCCEEDED', output: '{}' })),
    },
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    log: (l) => lines.push(l),
    lines,
  };
}

const live = (sha: string, publishedAt = '2026-12-01T10:00:00.000Z', deployedRef = '7'): LiveView => ({
  sha,
  publishedAt,
  deployedRef,
});
const outcome = (
  status: OutcomeView['status'],
  reason: string,
  extra: Partial<OutcomeView> = {},
): OutcomeView => ({
  status,
  reason,
  recordedAt: '2026-12-01T10:00:05.000Z',
  ...extra,
});
const options = { env: 'staging', sha: SHA, artifacts: ARTIFACTS, timeoutMs: 30 * 60_000, pollMs: 15_000 };

describe('waiting for the ledger', () => {
  test('deployed: returns once every artifact of the commit is live, waiting for the slow one', async () => {
    const d = deps(
      fakeLedger(
        {
          'service:ingest': [live(SHA)],
          'model:demo-scorer': [live(OLDER), live(OLDER), live(SHA, '2026-12-01T10:00:00.000Z', TARGET)],
        },
        { 'model:demo-scorer': [[], [], []] },
      ),
    );
    const result = await waitUntilLive(d, options);
    expect(result.get('model:demo-scorer')?.deployedRef).toBe(TARGET);
    expect(result.get('service:ingest')?.sha).toBe(SHA);
    expect(d.lines.some((l) => l.includes(`${OLDER} is live, ${SHA} not delivered yet`))).toBe(true);
  });

  test('a model waiting for the sleeping endpoint: the endpoint is woken once, and the verify waits until it is live', async () => {
    const waits = outcome('waiting', 'the inference endpoint is asleep: the model is copied and waits');
    const d = deps(
      fakeLedger(
        {
          'service:ingest': [live(SHA)],
          'model:demo-scorer': [
            undefined,
            undefined,
            undefined,
            live(SHA, '2026-12-01T10:00:00.000Z', TARGET),
          ],
        },
        { 'model:demo-scorer': [[waits], [waits], [waits]] },
      ),
    );
    const wakes: string[] = [];
    const result = await waitUntilLive(
      {
        ...d,
        wakeInference: () => {
          wakes.push('wake');
          return Promise.resolve('waking, awake until 12:00');
        },
      },
      options,
    );
    expect(result.get('model:demo-scorer')?.deployedRef).toBe(TARGET);
    expect(wakes).toEqual(['wake']);
    expect(d.lines).toContain(
      'staging/main: a model waits for the inference endpoint; waking it: waking, awake until 12:00',
    );
  });

  test('still waiting for the endpoint at the timeout: the message says why and how to wake it', async () => {
    const waits = outcome(
      'waiting',
      'the inference endpoint is asleep: the model is copied and waits; (inference is asleep until 2026-12-07T07:00:00.000Z; run `npm run wake -- --env staging` to wake it)',
    );
    const d = deps(fakeLedger({}, { 'model:demo-scorer': [[waits]] }));
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[1]] })).rejects.toThrow(
      /timed out .* model demo-scorer: the inference endpoint is asleep: .*npm run wake -- --env staging/,
    );
  });

  test("skipped as older than live: fails with the trigger's reason and says nothing moved back", async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(NEWER)] },
        { 'service:ingest': [[outcome('skipped', `older than live: ... ${NEWER} published at ...`)]] },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      /service ingest of a{40} was skipped by the deploy trigger: older than live.*superseded this one; nothing was moved back/,
    );
  });

  test("failed for good: fails at once with the ledger's reason", async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(OLDER)] },
        {
          'service:ingest': [
            [outcome('failed', 'smoke check failed: Missing environment variable(s) BIOMES_DB_NAME')],
          ],
        },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      /service ingest of a{40} failed to deploy: smoke check failed: Missing environment variable/,
    );
  });

  test('failed but retrying: keeps waiting, and succeeds when the retry deploys', async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(OLDER), live(SHA)] },
        { 'service:ingest': [[outcome('failed', 'ResourceConflictException', { retrying: true })]] },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).resolves.toBeDefined();
    expect(
      d.lines.some((l) => l.includes('the deploy trigger retries after "ResourceConflictException"')),
    ).toBe(true);
  });

  test('a canary in prod: keeps waiting while CodeDeploy bakes, succeeds once the end records it live', async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(OLDER), live(OLDER), live(SHA)] },
        {
          'service:ingest': [[outcome('canary', 'canary d-1 started: CodeDeploy shifts 10% of alias live')]],
        },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).resolves.toBeDefined();
  });

  test('a service waiting behind a canary does not wake the inference endpoint', async () => {
    let woken = 0;
    const d = {
      ...deps(
        fakeLedger(
          { 'service:ingest': [live(OLDER), live(SHA)] },
          { 'service:ingest': [[outcome('waiting', 'supersedes canary d-1')]] },
        ),
      ),
      wakeInference: () => {
        woken += 1;
        return Promise.resolve('awake until 19:00');
      },
    };
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).resolves.toBeDefined();
    expect(woken).toBe(0);
  });

  test('rolled back by its canary: fails with the alarm, naming what is live again', async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(OLDER)] },
        {
          'service:ingest': [
            [
              outcome('canary', 'canary d-1 started'),
              outcome(
                'rolled-back',
                'canary d-1 rolled back: alarm biomes-prod-main-ingest-errors fired during the bake',
              ),
            ],
          ],
        },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      /was rolled back: canary d-1 rolled back: alarm biomes-prod-main-ingest-errors fired/,
    );
  });

  test('rejected: fails with the reason', async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [undefined] },
        { 'service:ingest': [[outcome('rejected', 'unknown service "ingest" in biome "main"')]] },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      /was rejected by the deploy trigger: unknown service "ingest"/,
    );
  });

  test('superseded after it went live: ends without moving anything back', async () => {
    const d = deps(
      fakeLedger(
        { 'service:ingest': [live(NEWER, '2026-12-01T11:00:00.000Z')] },
        { 'service:ingest': [[outcome('deployed', 'live')]] },
      ),
    );
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      new RegExp(
        `was live, but ${NEWER} is live now\\. A newer release superseded this one; nothing was moved back`,
      ),
    );
  });

  test('timeout: a clear message naming what is missing and why the bound', async () => {
    const d = deps(fakeLedger({ 'service:ingest': [undefined] }));
    const started = d.now();
    await expect(waitUntilLive(d, { ...options, artifacts: [ARTIFACTS[0]] })).rejects.toThrow(
      /timed out after 30 minutes waiting for the ledger of staging: service ingest: not delivered yet\. Replication without Replication Time Control usually completes within 15 minutes/,
    );
    expect(d.now() - started).toBeLessThanOrEqual(30 * 60_000);
  });

  test('an empty manifest is refused', async () => {
    await expect(waitUntilLive(deps(fakeLedger({})), { ...options, artifacts: [] })).rejects.toThrow(
      VerifyError,
    );
  });
});

describe('waking the endpoint through its owner', () => {
  const lambda = mockClient(LambdaClient);
  afterAll(() => lambda.restore());
  const payload = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as never;

  test('invokes the owner with {action: wake} and says what it answered', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: payload({ state: 'waking', until: '2026-12-05T05:00:00.000Z' }) });
    const line = await inferenceWaker(
      new LambdaClient({ region: 'eu-west-1' }),
      'biomes-staging-shared-inference-endpoint',
    )();
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'biomes-staging-shared-inference-endpoint',
    });
    const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(new TextDecoder().decode(sent))).toEqual({ action: 'wake' });
    expect(line).toBe(
      'waking, awake until 2026-12-05T05:00:00.000Z (an endpoint takes about 10 minutes to start)',
    );
  });

  test('a function error does not end the verify: it says so and waits', async () => {
    lambda.reset();
    lambda
      .on(InvokeCommand)
      .resolves({ FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'no state' }) });
    expect(await inferenceWaker(new LambdaClient({ region: 'eu-west-1' }), 'owner')()).toMatch(
      /owner could not wake it \(.*no state.*\); waiting anyway/,
    );
  });
});

describe('the integration test', () => {
  const good = {
    outcomes: INTEGRATION_BATCH.samples.map((s) => ({
      sampleId: s.sampleId,
      ingested: 'dry-run',
      model: TARGET,
      prediction: 0.73,
      predictionId: null,
    })),
  };
  const run = (status: ExecutionStatus, output: unknown, extra: { error?: string; cause?: string } = {}) => {
    const inputs: unknown[] = [];
    const d = deps(fakeLedger({}), {
      start: (_name, input) => {
        inputs.push(input);
        return Promise.resolve('arn:aws:states:eu-west-1:333333333333:execution:wf:run');
      },
      describe: () => Promise.resolve({ status, output: JSON.stringify(output), ...extra }),
    });
    const p = runIntegrationTest(d, {
      env: 'staging',
      sha: SHA,
      batch: INTEGRATION_BATCH,
      problems: integrationProblems,
      expectedModel: TARGET,
    });
    return { p, inputs, d };
  };

  test('passes when every sample was scored by the live model and nothing was stored', async () => {
    const { p, inputs } = run('SUCCEEDED', good);
    await expect(p).resolves.toBeUndefined();
    expect(inputs).toEqual([INTEGRATION_BATCH]);
    expect(INTEGRATION_BATCH.samples.every((s) => s.dryRun)).toBe(true);
  });

  test('a failed execution fails with its error and cause', async () => {
    const { p } = run('FAILED', null, { error: 'DatabaseResuming', cause: 'still resuming' });
    await expect(p).rejects.toThrow(/ended FAILED: DatabaseResuming still resuming; open the execution/);
  });

  test('a prediction from another model SHA fails, naming both', async () => {
    const wrong = {
      outcomes: good.outcomes.map((o) => ({ ...o, model: `main/demo-scorer-${OLDER}.tar.gz` })),
    };
    await expect(run('SUCCEEDED', wrong).p).rejects.toThrow(
      new RegExp(
        `scored by model main/demo-scorer-${OLDER}\\.tar\\.gz, but the ledger says main/demo-scorer-${SHA}\\.tar\\.gz is live`,
      ),
    );
  });

  test('leftover data fails: a stored sample or prediction', async () => {
    const stored = {
      outcomes: good.outcomes.map((o, i) => (i === 0 ? { ...o, ingested: 'inserted', predictionId: 12 } : o)),
    };
    const error = run('SUCCEEDED', stored).p;
    await expect(error).rejects.toThrow(
      /sample release-verify-1 was stored \(ingested: inserted\): the dry run left data behind/,
    );
    await expect(run('SUCCEEDED', stored).p).rejects.toThrow(
      /predictionId 12\): the dry run left data behind/,
    );
  });

  test('an execution still running after the bound fails', async () => {
    const d = deps(fakeLedger({}), {
      describe: () => Promise.resolve({ status: 'RUNNING' }),
    });
    await expect(
      runIntegrationTest(d, {
        env: 'prod',
        sha: SHA,
        batch: INTEGRATION_BATCH,
        problems: integrationProblems,
        expectedModel: TARGET,
        timeoutMs: 60_000,
      }),
    ).rejects.toThrow(/still running after 1 minutes/);
  });
});

describe('the ledger reader (item layout of the deploy trigger)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());
  const reader = dynamoLedgerReader(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'ledger');

  test('reads the live record consistently under BIOME#<biome> / LIVE#<kind>#<name>', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { sha: SHA, publishedAt: 'p', deployedRef: TARGET, liveSince: 'x' } });
    await expect(reader.live('main', 'model', 'demo-scorer')).resolves.toEqual({
      sha: SHA,
      publishedAt: 'p',
      deployedRef: TARGET,
    });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'ledger',
      Key: { pk: 'BIOME#main', sk: 'LIVE#model#demo-scorer' },
      ConsistentRead: true,
    });
  });

  test('queries the history of one name for one commit, across pages, keeping the retrying flag', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ status: 'failed', reason: 'throttled', recordedAt: '1', retrying: true }],
        LastEvaluatedKey: { pk: 'x', sk: 'y' },
      })
      .resolvesOnce({
        Items: [{ status: 'deployed', reason: 'live', recordedAt: '2' }, { status: 'weird' }],
      });
    await expect(reader.outcomes('main', 'service', 'ingest', SHA)).resolves.toEqual([
      { status: 'failed', reason: 'throttled', recordedAt: '1', retrying: true },
      { status: 'deployed', reason: 'live', recordedAt: '2' },
    ]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': 'BIOME#main', ':prefix': 'HISTORY#service#ingest#', ':sha': SHA },
    });
  });
});

describe('a verify stage that cannot reach the ledger says which role and what fixes it', () => {
  const role = 'arn:aws:iam::333333333333:role/biomes-staging-release-verify';
  test.each(['AccessDenied', 'AccessDeniedException', 'ParameterNotFound', 'ResourceNotFoundException'])(
    '%s',
    (name) => {
      const e = Object.assign(new Error('not authorized'), { name });
      const explained = explainAccessError(e, 'read the ledger t', role, 'staging', 'biomes');
      expect(explained).toBeInstanceOf(VerifyError);
      expect(explained.message).toMatch(
        new RegExp(
          `cannot read the ledger t with ${role} \\(${name}: not authorized\\)\\..*npx cdk deploy -e biomes-staging-main.*cdk bootstrap --trust`,
        ),
      );
    },
  );

  test('other errors pass through unchanged', () => {
    const e = new Error('throttled');
    expect(explainAccessError(e, 'x', role, 'staging', 'biomes')).toBe(e);
  });
});
