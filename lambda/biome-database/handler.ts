/** Wiring only: clients once per container, then {@link onEvent}. */
import { Logger } from '@aws-lambda-powertools/logger';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { onEvent, type OnEventResponse } from './on-event';

const logger = new Logger({ serviceName: 'biome-database' });
const rdsData = new RDSDataClient({});
const secrets = new SecretsManagerClient({});

export async function handler(event: unknown): Promise<OnEventResponse> {
  return onEvent(event, {
    rdsData,
    secrets,
    log: {
      info: (message, extra) => logger.info(message, extra ?? {}),
      warn: (message, extra) => logger.warn(message, extra ?? {}),
    },
  });
}
