import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { logRetention } from '../../../lib/common/logs';
import { LOG_RETENTION_DAYS } from '../../../lib/config';
import { statefulPolicy } from '../../../lib/workload/shared/env-policy';
import {
  defaultInferenceImage,
  SKLEARN_REGISTRY_ACCOUNTS,
  supportsVolumeKmsKey,
} from '../../../lib/workload/shared/inference-image';

describe('statefulPolicy', () => {
  test('a protected environment (prod) keeps data: snapshot, retain, deletion protection, no auto-delete', () => {
    expect(statefulPolicy({ protected: true })).toEqual({
      snapshotRemovalPolicy: RemovalPolicy.SNAPSHOT,
      // Retained, except when the create that made it rolls back (a failed first deploy can be retried).
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      deletionProtection: true,
      autoDeleteObjects: false,
    });
  });

  test('an unprotected environment (dev, staging) can be destroyed without a trace', () => {
    expect(statefulPolicy({ protected: false })).toEqual({
      snapshotRemovalPolicy: RemovalPolicy.DESTROY,
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      autoDeleteObjects: true,
    });
  });
});

describe('logRetention (the one conversion from configured days)', () => {
  test.each([
    [1, logs.RetentionDays.ONE_DAY],
    [14, logs.RetentionDays.TWO_WEEKS],
    [30, logs.RetentionDays.ONE_MONTH],
    [90, logs.RetentionDays.THREE_MONTHS],
    [365, logs.RetentionDays.ONE_YEAR],
    [3653, logs.RetentionDays.TEN_YEARS],
  ])('%i days -> %i', (days, expected) => {
    expect(logRetention(days)).toBe(expected);
  });

  test("the config accepts exactly the periods of CDK's RetentionDays (so the conversion is a plain cast)", () => {
    const periods = Object.values(logs.RetentionDays)
      .filter((d): d is number => typeof d === 'number' && d !== logs.RetentionDays.INFINITE)
      .sort((a, b) => a - b);
    expect([...LOG_RETENTION_DAYS]).toEqual(periods);
  });

  test('a period CloudWatch does not accept is refused, never rounded', () => {
    expect(() => logRetention(15)).toThrow(
      /logRetentionDays: 15 is not a CloudWatch Logs retention period; use one of 1, 3, 5/,
    );
  });
});

describe('defaultInferenceImage', () => {
  test.each([
    ['eu-west-1', '141502667606'],
    ['us-east-1', '683313688378'],
    ['us-west-2', '246618743249'],
    ['eu-central-1', '492215442770'],
  ])('%s -> the scikit-learn image of account %s', (region, account) => {
    expect(defaultInferenceImage(region, 'dev')).toBe(
      `${account}.dkr.ecr.${region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3`,
    );
  });

  test('an unknown region is refused with the config key to set', () => {
    expect(() => defaultInferenceImage('xx-nowhere-1', 'staging')).toThrow(
      'No default SageMaker scikit-learn image is known for region "xx-nowhere-1": set biomes.environments.staging.inference.image',
    );
  });

  test('every registry account is a 12-digit account id', () => {
    for (const account of Object.values(SKLEARN_REGISTRY_ACCOUNTS)) expect(account).toMatch(/^\d{12}$/);
  });
});

describe('supportsVolumeKmsKey', () => {
  test.each([
    'ml.m5.large',
    'ml.m5.xlarge',
    'ml.c5.2xlarge',
    'ml.t2.medium',
    'ml.p3.2xlarge',
    'ml.inf1.xlarge',
    'ml.c7g.large',
  ])('%s (EBS storage) takes a KMS key', (type) => expect(supportsVolumeKmsKey(type)).toBe(true));
  test.each([
    'ml.m5d.large',
    'ml.c5d.xlarge',
    'ml.r5d.large',
    'ml.g4dn.xlarge',
    'ml.p4d.24xlarge',
    'ml.m6id.large',
    'ml.g5.xlarge',
    'ml.p5.48xlarge',
    'ml.trn2.48xlarge',
  ])('%s (local NVMe storage) does not', (type) => expect(supportsVolumeKmsKey(type)).toBe(false));
});
