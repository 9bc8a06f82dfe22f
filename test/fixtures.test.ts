import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { testApp, testConfig, unacknowledgedFindings } from './fixtures/config';

test('the nag fixture reports an unacknowledged finding (so a clean result means something)', () => {
  const app = testApp();
  const stack = new Stack(app, 'Probe');
  new s3.Bucket(stack, 'Plain');
  expect(unacknowledgedFindings(stack).join('\n')).toMatch(/AwsSolutions-S1/);
  expect(testConfig().appName).toBe('biomes');
});
