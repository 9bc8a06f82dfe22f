/** Wiring only: clients once per container, then {@link onEvent}. */
import { Logger } from '@aws-lambda-powertools/logger';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { onEvent, type OnEventResponse } from './on-event';
import { BIOME_DATABASE_ENV } from './properties';

const logger = new Logger({ serviceName: 'biome-database' });
const rdsData = new RDSDataClient({});
const secrets = new SecretsManagerClient({});
// Set on the environment's shared provider (sandpit stacks): serve each stack's own biome only.
const fenceApp = process.env[BIOME_DATABASE_ENV.fenceApp];
const fenceEnv = process.env[BIOME_DATABASE_ENV.fenceEnv];
const stackFence = fenceApp && fenceEnv ? { app: fenceApp, env: fenceEnv } : undefined;

export async function handler(event: unknown): Promise<OnEventResponse> {
  return onEvent(event, {
    rdsData,
    secrets,
    ...(stackFence ? { stackFence } : {}),
    log: {
      info: (message, extra) => logger.info(message, extra ?? {}),
      warn: (message, extra) => logger.warn(message, extra ?? {}),
    },
  });
}
