/**
 * The Powertools logger of a biome service: every line carries the commit the version runs and where
 * the service runs (the handler's `logger.addContext(context)` adds the request id). An unset identity
 * leaves only the commit; the smoke check reports what is missing.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_ENV, serviceIdentity } from './settings';

type Source = Readonly<Record<string, string | undefined>>;

export function serviceLogger(serviceName: string, source: Source): Logger {
  const logger = new Logger({ serviceName });
  logger.appendPersistentKeys({ commit: source[SERVICE_ENV.commitSha] || 'unknown' });
  try {
    const identity = serviceIdentity(source);
    logger.appendPersistentKeys({ app: identity.app, env: identity.env, biome: identity.biome });
  } catch {
    // Reported by the smoke check; a logger must not fail the cold start.
  }
  return logger;
}
