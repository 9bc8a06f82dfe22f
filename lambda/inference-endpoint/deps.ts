/** What every part of the endpoint's owner takes as arguments: clients, settings, logger, clock. */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Settings } from './settings';

export type Log = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface Deps {
  readonly sagemaker: SageMakerClient;
  readonly ssm: SSMClient;
  readonly db: DynamoDBDocumentClient;
  readonly lambda: LambdaClient;
  readonly settings: Settings;
  readonly logger: Log;
  readonly now: () => Date;
  /** The `id` of each delivered event. @default crypto.randomUUID */
  readonly newId?: () => string;
}
