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

test("the CDK libraries are the worker's one copy (test/environment.ts), every entry point alike", () => {
  const shared = (globalThis as { __biomesSharedRequire?: NodeJS.Require }).__biomesSharedRequire;
  expect(shared).toBeDefined();
  // What this file imported is what the worker's own require loaded: one Stack class for this file,
  // lib/ and cdk-nag alike, so constructs from any of them pass instanceof.
  expect(Stack).toBe(shared!('aws-cdk-lib').Stack);
  expect(s3.Bucket).toBe(shared!('aws-cdk-lib/aws-s3').Bucket);
});
