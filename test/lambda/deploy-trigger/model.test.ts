/**
 * The TargetModel the trigger sends the endpoint is always canonical (issue: `alice/../bob7/...`); a
 * model object that is missing reads as 404 (retry), not as a final denial; the head of a model
 * archive is read before anything is copied, and a model is validated on the endpoint with its rows.
 */
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { Budget } from '../../../lambda/deploy-trigger/budget';
import {
  existingModelCommit,
  readArchiveHead,
  targetModel,
  validateOnEndpoint,
} from '../../../lambda/deploy-trigger/model';
import { Retryable, Stop } from '../../../lambda/deploy-trigger/outcome';
import { HEAD_BYTES, parseQuality, tarGz, validationRequest } from '../../../lambda/shared/model-archive';
import { BiomeScope } from '../../../lambda/shared/scope';
import {
  bytesOf,
  endpointAnswer,
  GOOD_ANSWER,
  METRICS,
  modelArchive,
  noise,
  objectBody,
  QUALITY,
  ranged,
} from './fakes';

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

/** One stub of S3Client for the file: a second mockClient of the same class would take over the first. */
const s3 = mockClient(S3Client);
afterAll(() => s3.restore());

describe('existingModelCommit: the object that refused the copy as existing', () => {
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

describe('readArchiveHead: the bar and metrics, from the first HEAD_BYTES of the landing object', () => {
  const budget = new Budget(() => 600_000);
  const landing = { ...target('ranker'), key: `alice/ranker-${SHA}.tar.gz` };
  afterEach(() => s3.reset());
  const serve = (bytes: Uint8Array) =>
    s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => ({
      Body: objectBody(ranged(bytes, input.Range)),
    }));

  test('one ranged GET; no VersionId when the event has none; the quality and metrics it holds', async () => {
    const archive = modelArchive();
    serve(archive.bytes);
    const head = await readArchiveHead(new S3Client({}), landing, archive.bytes.length, budget);
    expect(head).toEqual({ quality: archive.quality, metrics: METRICS });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'landing', Key: landing.key, Range: `bytes=0-${1024 * 1024 - 1}` },
    ]);
  });

  test('the version the event names is the one read', async () => {
    serve(modelArchive().bytes);
    await readArchiveHead(new S3Client({}), { ...landing, versionId: 'v7' }, 388, budget);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toMatchObject({ VersionId: 'v7' });
  });

  test('the head of an object bigger than HEAD_BYTES is read as the start of an archive; one of HEAD_BYTES exactly is read whole', async () => {
    const big = modelArchive({ files: [{ name: 'weights.bin', data: noise(HEAD_BYTES + 4096) }] });
    serve(big.bytes);
    await expect(readArchiveHead(new S3Client({}), landing, big.bytes.length, budget)).resolves.toMatchObject(
      { metrics: METRICS },
    );
    // The same bytes claimed to be the whole object: a truncated archive, refused.
    const whole = readArchiveHead(new S3Client({}), landing, HEAD_BYTES, budget);
    await expect(whole).rejects.toBeInstanceOf(Stop);
    await expect(whole).rejects.toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/^model archive alice\/ranker-.*: not a gzip archive/),
    });
  });

  test('metrics.json that maps a metric to something other than a number: rejected, naming the file', async () => {
    serve(tarGzOf('{"accuracy":"high"}'));
    await expect(readArchiveHead(new S3Client({}), landing, 512, budget)).rejects.toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(
        /^model archive alice\/ranker-.* metrics\.json must map metric names to numbers: .*; nothing was copied and the pointer is unchanged$/,
      ),
    });
  });
});

/** An archive with a valid bar and the given metrics.json text (which the build would have refused). */
function tarGzOf(metrics: string): Uint8Array {
  return tarGz([
    { name: 'quality.json', data: bytesOf(JSON.stringify(QUALITY)) },
    { name: 'metrics.json', data: bytesOf(metrics) },
  ]);
}

describe('validateOnEndpoint', () => {
  const sagemaker = mockClient(SageMakerRuntimeClient);
  const location = { bucket: 'models', prefix: 'models/', endpointName: 'biomes-dev-models' };
  const quality = parseQuality(JSON.stringify(QUALITY), 'quality.json');
  const options = { attempts: 3, sleep: () => Promise.resolve(), budget: new Budget(() => 600_000) };
  const validate = () =>
    validateOnEndpoint(new SageMakerRuntimeClient({}), location, target('ranker'), quality, options);
  afterEach(() => sagemaker.reset());
  afterAll(() => sagemaker.restore());

  test('sends every row in one JSON request to the TargetModel and passes when every answer matches', async () => {
    sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(GOOD_ANSWER));
    await expect(validate()).resolves.toBeUndefined();
    const input = sagemaker.commandCalls(InvokeEndpointCommand)[0]!.args[0].input;
    expect({ ...input, Body: new TextDecoder().decode(input.Body as Uint8Array) }).toEqual({
      EndpointName: 'biomes-dev-models',
      TargetModel: `alice/ranker-${SHA}.tar.gz`,
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: validationRequest(quality),
    });
  });

  test('a ValidationError from the endpoint is final, like a ModelError', async () => {
    sagemaker
      .on(InvokeEndpointCommand)
      .rejects(Object.assign(new Error('no such target model'), { name: 'ValidationError' }));
    await expect(validate()).rejects.toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /validation of alice\/ranker-.* on endpoint biomes-dev-models failed \(ValidationError: no such target model\); pointer unchanged/,
      ),
    });
  });

  test('a throttle is not final: rethrown as it is, for the platform to retry', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sagemaker.on(InvokeEndpointCommand).rejects(throttled);
    const run = validate();
    await expect(run).rejects.not.toBeInstanceOf(Stop);
    await expect(run).rejects.toThrow('Rate exceeded');
  });

  test('a number off by more than the tolerance fails; within it passes', async () => {
    const answer = (score: number) => ({
      predictions: [
        { score, label: 1 },
        { score: 0.2, label: 0 },
      ],
    });
    sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(answer(0.905)));
    await expect(validate()).resolves.toBeUndefined();
    sagemaker.on(InvokeEndpointCommand).resolves(endpointAnswer(answer(0.92)));
    await expect(validate()).rejects.toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(
        'validation row 0: input [1,2,3], expected {"score":0.9,"label":1}, got {"score":0.92,"label":1}',
      ),
    });
  });
});
