/**
 * Removes a biome's model objects from the shared model location, every version and delete marker
 * (the bucket may be versioned), page by page. Never touches a key outside the biome's prefix.
 */
import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** Deletes every version under `prefix` and returns how many were deleted. */
export async function deleteAllVersionsUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
  log: Log,
): Promise<number> {
  // A biome prefix is `<modelPrefix><biome>/`; anything shorter could reach other biomes' models.
  if (!/^([^/]+\/)+$/.test(prefix)) {
    throw new Error(
      `Refusing to delete under "${prefix}": a biome's model prefix is "<model-prefix><biome>/".`,
    );
  }
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    // ListObjectVersions also lists an unversioned bucket (VersionId "null"), so one path serves both.
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    const targets: ObjectIdentifier[] = [];
    for (const o of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      if (!o.Key?.startsWith(prefix)) {
        log.warn('skipping a listed key outside the biome prefix', { key: o.Key, prefix });
        continue;
      }
      targets.push({ Key: o.Key, VersionId: o.VersionId });
    }
    // A listing page holds at most 1000 entries, the DeleteObjects limit; chunk anyway in case.
    for (let i = 0; i < targets.length; i += 1000) {
      const chunk = targets.slice(i, i + 1000);
      const out = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk, Quiet: true } }),
      );
      if (out.Errors && out.Errors.length > 0) {
        const first = out.Errors.slice(0, 3)
          .map((e) => `${e.Key}@${e.VersionId}: ${e.Code} ${e.Message}`)
          .join('; ');
        throw new Error(
          `Could not delete ${out.Errors.length} model object(s) under s3://${bucket}/${prefix}: ${first}`,
        );
      }
      deleted += chunk.length;
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  log.info('deleted biome model objects', { bucket, prefix, deleted });
  return deleted;
}
