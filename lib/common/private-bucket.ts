import * as s3 from 'aws-cdk-lib/aws-s3';

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
