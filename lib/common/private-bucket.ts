import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { controlTowerRule } from './control-tower';

/**
 * What every Biomes bucket is, in either account: private (public access blocked, ACLs off, the
 * bucket owner owns every object) and reachable only over TLS 1.2 or later. Spread it into
 * `s3.BucketProps` and add what the bucket is for (encryption, versioning, lifecycle, removal).
 */
export const PRIVATE_BUCKET = {
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies Partial<s3.BucketProps>;

/**
 * The two Control Tower rules an S3 server access log bucket cannot follow: S3 delivers server access
 * logs only to a bucket encrypted with SSE-S3 (not SSE-KMS, CT.S3.PR.10), and logging the log bucket
 * into itself would loop (CT.S3.PR.2).
 */
export function acceptAccessLogBucket(bucket: IConstruct): void {
  Validations.of(bucket).acknowledge(
    {
      id: controlTowerRule('s3_bucket_default_encryption_kms_check'),
      reason:
        'S3 server access logging delivers only to buckets encrypted with SSE-S3; this is an access-log target.',
    },
    {
      id: controlTowerRule('s3_bucket_logging_enabled_check'),
      reason: 'This is the access-log target of the other buckets; logging it into itself would loop.',
    },
  );
}
