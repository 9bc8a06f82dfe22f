import { Duration, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StatefulPolicy } from './env-policy';
import { acceptAccessLogBucket, PRIVATE_BUCKET } from '../../common/private-bucket';

export interface AccessLogsBucketProps {
  /** Days that access-log objects are kept. */
  readonly retentionDays: number;
  /** Removal of the bucket and its objects with the stack (by environment). */
  readonly policy: StatefulPolicy;
}

/** Target of the S3 server access logs of the shared stack's buckets (who read or wrote which artifact). */
export class AccessLogsBucket extends Construct {
  readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps) {
    super(scope, id);
    const { policy } = props;
    const bucket = new s3.Bucket(this, 'Bucket', {
      // S3 server access logging can only deliver to a bucket encrypted with SSE-S3, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      ...PRIVATE_BUCKET,
      // Versioned (CT.S3.PR.11); log objects are never overwritten, so old versions go after a day.
      versioned: true,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(props.retentionDays) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(1) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: policy.removalPolicy,
      autoDeleteObjects: policy.autoDeleteObjects,
    });
    acceptAccessLogBucket(bucket);
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log target itself; logging it to itself would loop and logging it elsewhere only moves the problem.',
    });
    this.bucket = bucket;
  }
}
