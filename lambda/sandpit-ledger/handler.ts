/**
 * Sandpit ledger recorder: the Provider framework's onEvent for `Custom::SandpitDeploy`, and the target
 * of the EventBridge rules for sandpit stack deletes and hotswaps (lib/workload/shared/sandpit-ledger.ts).
 * Thin wiring: settings and clients are built once per execution environment; the event's shape says
 * which of the three it is, and the work is in ./record.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import {
  type DestroyOutcome,
  type HotswapOutcome,
  type OnEventResponse,
  parseRecorderEvent,
  recordDeploy,
  recordDestroy,
  recordHotswap,
} from './record';
import { settingsFromEnv } from './settings';

const logger = new Logger({ serviceName: 'sandpit-ledger' });
const settings = settingsFromEnv(process.env);
const clients = {
  db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  lambda: new LambdaClient({}),
};

export async function handler(
  raw: unknown,
  context: Context,
): Promise<OnEventResponse | DestroyOutcome | HotswapOutcome> {
  logger.addContext(context);
  const deps = { ...clients, settings, logger, now: () => new Date() };
  const event = parseRecorderEvent(raw);
  switch (event.kind) {
    case 'deploy':
      return recordDeploy(deps, event.event);
    case 'stack-status': {
      const outcome = await recordDestroy(deps, event.event);
      if (outcome.action === 'ignored')
        logger.info('stack status change ignored', { reason: outcome.reason });
      return outcome;
    }
    case 'api-call': {
      const outcome = await recordHotswap(deps, event.event);
      if (outcome.action === 'ignored') logger.info('Lambda API call ignored', { reason: outcome.reason });
      return outcome;
    }
  }
}
