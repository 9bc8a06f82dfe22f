/**
 * The owner of the environment's SageMaker endpoint (lib/workload/shared/inference-endpoint.ts): the
 * `Custom::InferenceEndpoint` provider's onEvent (`index.handler`) and isComplete (`index.isComplete`),
 * the schedule's reconcile and `npm run wake`'s wake and status, in one bundle. Thin wiring: settings and
 * clients are built once per execution environment; the work is in ./dispatch and the modules it calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Deps } from './deps';
import { type Result, handleEvent, handleIsComplete } from './dispatch';
import type { IsCompleteResponse } from './resource';
import { settingsFromEnv } from './settings';

const logger = new Logger({ serviceName: 'inference-endpoint' });
const settings = settingsFromEnv(process.env);
const deps: Deps = {
  sagemaker: new SageMakerClient({}),
  ssm: new SSMClient({}),
  db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  lambda: new LambdaClient({}),
  settings,
  logger,
  now: () => new Date(),
};

export async function handler(event: unknown, context: Context): Promise<Result> {
  logger.addContext(context);
  return handleEvent(deps, event);
}

export async function isComplete(event: unknown, context: Context): Promise<IsCompleteResponse> {
  logger.addContext(context);
  return handleIsComplete(deps, event);
}
