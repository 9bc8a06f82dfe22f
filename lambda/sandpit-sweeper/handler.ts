/**
 * Sandpit sweeper: an EventBridge Scheduler schedule invokes it once a day (lib/workload/shared/sandpit-sweeper.ts).
 * Thin wiring: settings and clients are built once per execution environment; the work is in ./sweep.
 * The schedule's event carries nothing the sweep needs: the settings say which app and environment.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { settingsFromEnv } from './settings';
import { type SweepReport, sweep } from './sweep';

const logger = new Logger({ serviceName: 'sandpit-sweeper' });
const settings = settingsFromEnv(process.env);
const clients = {
  cloudformation: new CloudFormationClient({}),
  sns: new SNSClient({}),
  db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
};

export async function handler(_event: unknown, context: Context): Promise<SweepReport> {
  logger.addContext(context);
  return sweep({ ...clients, settings, logger, runId: context.awsRequestId }, new Date());
}
