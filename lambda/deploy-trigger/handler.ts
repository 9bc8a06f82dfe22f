/**
 * Deploy trigger: EventBridge `Object Created` on the landing bucket -> deploy or record why not; a
 * canary's end (CodeDeploy) or an alarm during a model's bake -> record it, roll back where it says.
 * Thin wiring: settings and clients are built once per execution environment; the work is in ./deploy.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { type Deps, handleEvent } from './deploy';
import type { Outcome } from './ledger';
import { settingsFromEnv } from './settings';
import { OWNER_NOTICE_ATTRIBUTE } from '../shared/sandpit';

const logger = new Logger({ serviceName: 'deploy-trigger' });
const settings = settingsFromEnv(process.env);
const clients = {
  s3: new S3Client({}),
  lambda: new LambdaClient({}),
  ssm: new SSMClient({}),
  db: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  sagemaker: new SageMakerRuntimeClient({}),
  codedeploy: new CodeDeployClient({}),
  cloudwatch: new CloudWatchClient({}),
};
const sns = settings.ownersTopicArn ? new SNSClient({}) : undefined;
const notifyOwner =
  sns && settings.ownersTopicArn
    ? async (biome: string, subject: string, message: string) => {
        await sns.send(
          new PublishCommand({
            TopicArn: settings.ownersTopicArn,
            Subject: subject.slice(0, 99),
            Message: message,
            MessageAttributes: { [OWNER_NOTICE_ATTRIBUTE]: { DataType: 'String', StringValue: biome } },
          }),
        );
      }
    : undefined;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function handler(event: unknown, context: Context): Promise<Outcome | readonly Outcome[]> {
  logger.addContext(context);
  const deps: Deps = {
    ...clients,
    settings,
    logger,
    now: () => new Date(),
    sleep,
    // Lambda retries a failed or timed-out async invocation with the same request id.
    owner: context.awsRequestId,
    remainingMs: () => context.getRemainingTimeInMillis(),
    ...(notifyOwner ? { notifyOwner } : {}),
  };
  return handleEvent(deps, event);
}
