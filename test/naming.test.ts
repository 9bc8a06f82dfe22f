import { environmentOf } from '../lib/config';
import { landingKeyAliasArn, partitionOf, replicationRoleArn } from '../lib/naming';
import { testConfig } from './fixtures/config';

test('cross-account ARNs carry the partition of the configured region', () => {
  expect(partitionOf('eu-west-1')).toBe('aws');
  expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
  expect(partitionOf('cn-north-1')).toBe('aws-cn');
  const gov = { ...testConfig(), region: 'us-gov-west-1' };
  expect(replicationRoleArn(gov)).toBe(
    'arn:aws-us-gov:iam::111111111111:role/biomes-devops-release-replication',
  );
  expect(landingKeyAliasArn(gov, environmentOf(gov, 'dev'))).toBe(
    'arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/biomes-dev-landing',
  );
  expect(replicationRoleArn(testConfig())).toMatch(/^arn:aws:iam::/);
});
