/** Wiring only: clients once per container, then {@link onEvent}. */
import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import { onEvent } from './on-event';

const logger = new Logger({ serviceName: 'biome-models' });
const s3 = new S3Client({});

export async function handler(event: unknown): Promise<{ PhysicalResourceId: string }> {
  return onEvent(event, {
    s3,
    log: {
      info: (message, extra) => logger.info(message, extra ?? {}),
      warn: (message, extra) => logger.warn(message, extra ?? {}),
    },
  });
}
