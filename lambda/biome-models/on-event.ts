/**
 * The Provider framework's onEvent for `Custom::BiomeModels`: nothing on Create or Update; on Delete,
 * the biome's objects on the model location are removed (never for a protected biome: the mainline
 * of a protected environment).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import { isProtectedBiome } from '../shared/environments';
import { issueLines } from '../shared/issues';
import { deleteAllVersionsUnder, type Log } from './cleanup';
import { type BiomeModelsProperties, biomeModelPrefix, parseProperties } from './properties';

export const eventSchema = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ResourceProperties: z.record(z.string(), z.unknown()) }),
  z.object({
    RequestType: z.literal('Update'),
    PhysicalResourceId: z.string(),
    ResourceProperties: z.record(z.string(), z.unknown()),
  }),
  z.object({
    RequestType: z.literal('Delete'),
    PhysicalResourceId: z.string(),
    ResourceProperties: z.record(z.string(), z.unknown()),
  }),
]);

export interface Dependencies {
  readonly s3: S3Client;
  readonly log: Log;
}

export async function onEvent(raw: unknown, deps: Dependencies): Promise<{ PhysicalResourceId: string }> {
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `Not a CloudFormation custom resource event (RequestType Create, Update or Delete with ResourceProperties): ${issueLines(parsed.error).join('; ')}`,
    );
  }
  const event = parsed.data;
  if (event.RequestType !== 'Delete') {
    const p = parseProperties(event.ResourceProperties);
    // Identity is the location: a moved location is a new resource, and the old one gets its Delete.
    return { PhysicalResourceId: `s3://${p.bucket}/${biomeModelPrefix(p)}` };
  }
  let p: BiomeModelsProperties;
  try {
    p = parseProperties(event.ResourceProperties);
  } catch (e) {
    // Create refused these properties, so nothing was ever registered; failing would block the rollback.
    deps.log.warn('delete with invalid properties: nothing to clean up', { error: String(e) });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  if (isProtectedBiome({ protected: p.protected }, p.biome)) {
    deps.log.warn(`keeping the models of ${p.env} ${p.biome}: they are protected, never deleted`, {
      bucket: p.bucket,
    });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  await deleteAllVersionsUnder(deps.s3, p.bucket, biomeModelPrefix(p), deps.log);
  return { PhysicalResourceId: event.PhysicalResourceId };
}
