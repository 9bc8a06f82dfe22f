/**
 * `npm run rollback -- --env prod --service ingest --to <sha>`: rolls a service or model of an
 * environment back to an earlier commit published there, through that environment's rollback
 * pipeline. A thin CLI over lib/devops/release/rollback-command.ts, with the config of cdk.json;
 * credentials (the DevOps account's) and region come from the usual AWS SDK chain.
 */
import { parseArgs } from 'node:util';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { cdkJsonConfig } from './cdk-config';
import {
  ROLLBACK_USAGE,
  RollbackError,
  rollbackRequest,
  startRollback,
} from '../lib/devops/release/rollback-command';

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        env: { type: 'string' },
        service: { type: 'string' },
        model: { type: 'string' },
        to: { type: 'string' },
        biome: { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${ROLLBACK_USAGE}`);
    return 2;
  }
  const config = cdkJsonConfig();
  try {
    const request = rollbackRequest(config, values);
    const { lines } = await startRollback(new CodePipelineClient({ region: config.region }), config, request);
    for (const line of lines) console.log(line);
    return 0;
  } catch (e) {
    if (e instanceof RollbackError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

void main().then((code) => process.exit(code));
