/**
 * The Verify action of each environment stage of the release pipeline (lib/devops/verify-project.ts
 * runs its bundle, built by scripts/build-tools.ts): assumes the environment's read-and-verify role,
 * waits for the ledger to show the release live, runs the integration test. Exit 0: proven; 1: not
 * (the message says why and what to do); 2: the action is misconfigured.
 *
 * Environment (set by the verify project and the pipeline): VERIFY_ENV, VERIFY_ROLE_ARN, APP_NAME,
 * COMMIT_SHA, LEDGER_TIMEOUT_MINUTES; the Packages artifact (its manifest.json) is the working dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PREDICT_MODEL } from '../lambda/predict/model';
import { biomeNameProblem, MAINLINE_BIOME, shaProblem } from '../lambda/shared/grammar';
import { BiomeScope } from '../lambda/shared/scope';
import { inferenceWaker } from '../lib/devops/release/inference-waker';
import { dynamoLedgerReader } from '../lib/devops/release/ledger-reader';
import { assumedRoleCredentials } from '../lib/devops/release/role-credentials';
import {
  explainAccessError as explain,
  type ReleaseArtifact,
  runIntegrationTest,
  VERIFY_ENV,
  VerifyError,
  type VerifyDeps,
  waitUntilLive,
  type WorkflowRunner,
} from '../lib/devops/release/verify';
import { INTEGRATION_BATCH, integrationProblems } from '../test/integration/mainline';

class UsageError extends Error {}

function setting(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new UsageError(`${name} is not set; the verify project sets it (lib/devops/verify-project.ts)`);
  return v;
}

function manifestArtifacts(dir: string, sha: string): ReleaseArtifact[] {
  const file = path.join(dir, 'manifest.json');
  let manifest: { sha?: unknown; artifacts?: { kind?: unknown; name?: unknown }[] };
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof manifest;
  } catch (e) {
    throw new UsageError(`cannot read ${file} (the Packages artifact): ${(e as Error).message}`);
  }
  if (manifest.sha !== sha) {
    throw new UsageError(
      `manifest.json is of commit ${String(manifest.sha)}, not ${sha}: the action got another build's artifact`,
    );
  }
  return (manifest.artifacts ?? []).map((a) => {
    const { kind, name } = a;
    if ((kind !== 'service' && kind !== 'model') || typeof name !== 'string') {
      throw new UsageError(`manifest.json has an entry that is not {kind, name}: ${JSON.stringify(a)}`);
    }
    return { kind, name };
  });
}

async function main(): Promise<number> {
  const env = setting(VERIFY_ENV.env);
  const roleArn = setting(VERIFY_ENV.roleArn);
  const app = setting(VERIFY_ENV.app);
  const sha = setting(VERIFY_ENV.commitSha);
  const problem = shaProblem(sha);
  if (problem) throw new UsageError(`${VERIFY_ENV.commitSha}: ${problem}`);
  const timeoutMinutes = Number(process.env[VERIFY_ENV.timeoutMinutes] ?? '30');
  if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 1) {
    throw new UsageError(
      `${VERIFY_ENV.timeoutMinutes}: "${process.env[VERIFY_ENV.timeoutMinutes]}" is not a whole number of minutes`,
    );
  }
  const artifacts = manifestArtifacts(process.cwd(), sha);
  const biome = process.env[VERIFY_ENV.biome] ?? MAINLINE_BIOME;
  const biomeProblem = biomeNameProblem(biome, { allowMainline: true });
  if (biomeProblem) throw new UsageError(`${VERIFY_ENV.biome}: ${biomeProblem}`);

  // Assumed again before each session ends: a wait may outlast a chained role session (one hour).
  const credentials = assumedRoleCredentials(
    new STSClient({}),
    roleArn,
    `release-verify-${sha.slice(0, 12)}`,
  );
  try {
    await credentials();
  } catch (e) {
    throw explain(e, 'assume the read-and-verify role', roleArn, env, app);
  }

  const main = new BiomeScope(app, env, 'main');
  const ssm = new SSMClient({ credentials });
  const parameter = async (name: string) => {
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name }));
      if (!out.Parameter?.Value) throw new Error(`${name} is empty`);
      return out.Parameter.Value;
    } catch (e) {
      throw explain(e, `read ${name}`, roleArn, env, app);
    }
  };
  const table = await parameter(main.envScope.sharedParameter('ledgerTableName'));
  const workflowArn = biome === MAINLINE_BIOME ? await parameter(main.workflowArnParameter) : '';

  const sfn = new SFNClient({ credentials });
  const workflow: WorkflowRunner = {
    async start(name, input) {
      const out = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: workflowArn, name, input: JSON.stringify(input) }),
      );
      if (!out.executionArn) throw new Error('StartExecution returned no execution ARN');
      return out.executionArn;
    },
    async describe(executionArn) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: d.status ?? 'RUNNING',
        ...(d.output !== undefined ? { output: d.output } : {}),
        ...(d.error !== undefined ? { error: d.error } : {}),
        ...(d.cause !== undefined ? { cause: d.cause } : {}),
      };
    },
  };
  const reader = dynamoLedgerReader(DynamoDBDocumentClient.from(new DynamoDBClient({ credentials })), table);
  const deps: VerifyDeps = {
    ledger: {
      live: (...a) =>
        reader
          .live(...a)
          .catch((e: unknown) => Promise.reject(explain(e, `read the ledger ${table}`, roleArn, env, app))),
      outcomes: (...a) =>
        reader
          .outcomes(...a)
          .catch((e: unknown) => Promise.reject(explain(e, `read the ledger ${table}`, roleArn, env, app))),
    },
    workflow,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: (line) => console.log(line),
    // The mainline's read-and-verify role may wake a sleeping endpoint; a sandpit's deployer may not.
    ...(biome === MAINLINE_BIOME
      ? {
          wakeInference: () =>
            inferenceWaker(
              new LambdaClient({ credentials }),
              main.envScope.inferenceEndpointFunctionName,
            )().catch((e: unknown) =>
              Promise.reject(explain(e, 'wake the inference endpoint', roleArn, env, app)),
            ),
        }
      : {}),
  };

  const live = await waitUntilLive(deps, {
    env,
    sha,
    artifacts,
    biome,
    timeoutMs: timeoutMinutes * 60_000,
  });
  if (biome !== MAINLINE_BIOME) {
    console.log(`${env}/${biome}: sandpit ${sha} is live (the integration test runs on the mainline only)`);
    return 0;
  }
  const model = live.get(`model:${PREDICT_MODEL}`);
  if (!model)
    throw new VerifyError(
      `the release publishes no model ${PREDICT_MODEL}, which the integration test scores with`,
    );
  await runIntegrationTest(deps, {
    env,
    sha,
    batch: INTEGRATION_BATCH,
    problems: integrationProblems,
    expectedModel: model.deployedRef,
  });
  console.log(`${env}: release ${sha} is live and passed its integration test`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof VerifyError) {
      console.error(`VERIFY FAILED: ${e.message}`);
      process.exit(1);
    }
    if (e instanceof UsageError) {
      console.error(`VERIFY MISCONFIGURED: ${e.message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(1);
  },
);
