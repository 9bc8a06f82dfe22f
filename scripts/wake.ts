/**
 * `npm run wake -- --env <env> [--status]`: wakes that environment's sleeping inference endpoint
 * now (or, with --status, says whether it sleeps). A thin CLI over lib/workload/shared/inference-wake.ts,
 * with the config of cdk.json; credentials and region come from the usual AWS SDK chain.
 */
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { cdkJsonConfig } from './cdk-config';
import { describeWake, WakeError, wakeInference } from '../lib/workload/shared/inference-wake';

const USAGE = 'usage: npm run wake -- --env <environment> [--status]';

async function main(): Promise<number> {
  let values: { env?: string; status?: boolean };
  try {
    ({ values } = parseArgs({
      options: { env: { type: 'string' }, status: { type: 'boolean' } },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.env) {
    console.error(`--env is required\n${USAGE}`);
    return 2;
  }
  const config = cdkJsonConfig();
  try {
    const result = await wakeInference(
      new LambdaClient({ region: config.region }),
      config,
      values.env,
      values.status ? 'status' : 'wake',
    );
    console.log(describeWake(values.env, result));
    return 0;
  } catch (e) {
    if (e instanceof WakeError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

void main().then((code) => process.exit(code));
