/**
 * The train workflow's function (lib/workload/biome/train-workflow.ts): `prepare` before the training
 * job, `deliver` after it. Thin wiring: settings and clients are built once per execution environment;
 * the work is in ./prepare and ./deliver, which take them as arguments.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { issueLines } from '../shared/issues';
import { ServiceError } from '../shared/service-error';
import { type Delivered, type Prepared, RETRAIN_ACTIONS, retrainEventSchema } from './contract';
import { deliver } from './deliver';
import { RETRAIN_ERRORS } from './errors';
import { prepare } from './prepare';
import { settingsFromEnv } from './settings';

const logger = new Logger({ serviceName: 'model-retrain' });
const settings = settingsFromEnv(process.env);
logger.appendPersistentKeys({
  app: settings.scope.app,
  env: settings.scope.env,
  biome: settings.scope.biome,
});
const clients = { s3: new S3Client({}), ssm: new SSMClient({}) };

export async function handler(event: unknown, context: Context): Promise<Prepared | Delivered> {
  logger.addContext(context);
  const parsed = retrainEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new ServiceError(
      RETRAIN_ERRORS.badInput,
      `not an event of the train workflow (${issueLines(parsed.error, 'event').join('; ')})`,
    );
  }
  const e = parsed.data;
  try {
    if (e.action === RETRAIN_ACTIONS.prepare) {
      const prepared = await prepare({ ...clients, settings }, e.input, new Date());
      logger.info('prepared', { ...prepared });
      return prepared;
    }
    return await deliver({ ...clients, settings, logger }, e.prepared, e.execution, new Date());
  } catch (error) {
    // Refusals are expected outcomes (the workflow reports them); anything else is a fault.
    if (error instanceof ServiceError) logger.warn(error.message, { error: error.name });
    else logger.error('failed', error as Error);
    throw error;
  }
}
