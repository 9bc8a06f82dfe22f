/**
 * The TargetModel the trigger sends the endpoint is always canonical (issue: `alice/../bob7/...`); a
 * model object that is missing reads as 404 (retry), not as a final denial.
 */
import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { existingModelCommit, targetModel } from '../../../lambda/deploy-trigger/model';
import { Retryable } from '../../../lambda/deploy-trigger/outcome';
import { BiomeScope } from '../../../lambda/shared/scope';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const scope = new BiomeScope('biomes', 'dev', 'alice');
const target = (name: string) => ({
  scope,
  name,
  sha: SHA,
  bucket: 'landing',
  key: `alice/${name}-${SHA}.tar.gz`,
});

test('a model of the biome: <biome>/<name>-<sha>.tar.gz', () => {
  expect(targetModel(target('demo-scorer'))).toBe(`alice/demo-scorer-${SHA}.tar.gz`);
});

test.each(['../bob7/demo-scorer', 'x/../../bob7/demo-scorer', 'Demo'])(
  '%s is refused, nothing copied or invoked',
  (name) => {
    expect(() => targetModel(target(name))).toThrow(
      /is not <biome>\/<name>-<sha>\.tar\.gz.*nothing was copied or invoked/,
    );
  },
);

describe('existingModelCommit: the object that refused the copy as existing', () => {
  const s3 = mockClient(S3Client);
  const location = { bucket: 'models', prefix: 'models/', endpointName: 'biomes-dev-models' };
  const error = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
  afterEach(() => s3.reset());

  test('names the commit it holds (a rollback or a retry of the same SHA)', async () => {
    s3.on(HeadObjectCommand, { Bucket: 'models', Key: `models/alice/demo-${SHA}.tar.gz` }).resolves({
      Metadata: { 'commit-sha': SHA },
    });
    await expect(existingModelCommit(new S3Client({}), location, target('demo'))).resolves.toBe(SHA);
  });

  // S3 answers a missing object with 404 only to a caller that may s3:ListBucket the bucket (the
  // trigger's ListModelBucket grant, unconditioned: test/iam/isolation.test.ts); otherwise 403.
  test('404 (deleted between the refused copy and the read) is retried, not final', async () => {
    s3.on(HeadObjectCommand).rejects(error('NotFound', 404));
    const read = existingModelCommit(new S3Client({}), location, target('demo'));
    await expect(read).rejects.toBeInstanceOf(Retryable);
    await expect(read).rejects.toThrow(/is not found now/);
  });

  test('403 is a denial and stays one (final, with its own message)', async () => {
    s3.on(HeadObjectCommand).rejects(error('Forbidden', 403));
    const read = existingModelCommit(new S3Client({}), location, target('demo'));
    await expect(read).rejects.not.toBeInstanceOf(Retryable);
    await expect(read).rejects.toThrow('Forbidden');
  });
});
