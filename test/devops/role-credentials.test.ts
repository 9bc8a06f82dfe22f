/**
 * The verify tool's workload-role credentials (lib/devops/release/role-credentials.ts): one session
 * shared by every client, assumed again before it ends, through the SDK's own credential refresh (a
 * real SSMClient signing requests to a local endpoint that records the key each request was signed
 * with; STS is mocked).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { assumedRoleCredentials, RENEW_BEFORE_MS } from '../../lib/devops/release/role-credentials';

const ROLE = 'arn:aws:iam::222222222222:role/biomes-dev-release-verify';
const sts = mockClient(STSClient);

const session = (key: string, expiresInMs: number) => ({
  Credentials: {
    AccessKeyId: key,
    SecretAccessKey: `secret-${key}`,
    SessionToken: `token-${key}`,
    Expiration: new Date(Date.now() + expiresInMs),
  },
});

beforeEach(() => sts.reset());

test('one AssumeRole while the session has more than 5 minutes left; concurrent callers share it', async () => {
  sts.on(AssumeRoleCommand).resolves(session('AKIAFIRST', 60 * 60_000));
  const credentials = assumedRoleCredentials(new STSClient({}), ROLE, 'release-verify-abc');
  const [a, b] = await Promise.all([credentials(), credentials()]);
  expect(a).toBe(b);
  expect((await credentials()).accessKeyId).toBe('AKIAFIRST');
  expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toEqual({
    RoleArn: ROLE,
    RoleSessionName: 'release-verify-abc',
  });
});

test('assumed again when the session has less than 5 minutes left (a chained session lasts an hour)', async () => {
  sts
    .on(AssumeRoleCommand)
    .resolvesOnce(session('AKIAFIRST', 60 * 60_000))
    .resolvesOnce(session('AKIASECOND', 60 * 60_000));
  let clock = Date.now();
  const credentials = assumedRoleCredentials(new STSClient({}), ROLE, 's', () => clock);
  expect((await credentials()).accessKeyId).toBe('AKIAFIRST');
  clock += 60 * 60_000 - RENEW_BEFORE_MS - 1000;
  expect((await credentials()).accessKeyId).toBe('AKIAFIRST');
  clock += 2000;
  expect((await credentials()).accessKeyId).toBe('AKIASECOND');
  expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
});

test('an AssumeRole failure reaches the caller, and the next call tries again', async () => {
  sts
    .on(AssumeRoleCommand)
    .rejectsOnce(
      Object.assign(new Error('not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }),
    )
    .resolvesOnce({})
    .resolves(session('AKIAFIRST', 60 * 60_000));
  const credentials = assumedRoleCredentials(new STSClient({}), ROLE, 's');
  await expect(credentials()).rejects.toThrow(/sts:AssumeRole/);
  await expect(credentials()).rejects.toThrow('AssumeRole returned no credentials');
  expect((await credentials()).accessKeyId).toBe('AKIAFIRST');
});

test("the SDK's clients sign with a new session once the old one has less than 5 minutes left", async () => {
  // Only the clock is fake (the SDK and the provider read Date.now); timers and I/O are real.
  jest.useFakeTimers({
    doNotFake: [
      'nextTick',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
      'queueMicrotask',
      'hrtime',
      'performance',
    ],
  });
  jest.setSystemTime(new Date('2026-12-04T10:00:00Z'));
  sts
    .on(AssumeRoleCommand)
    .resolvesOnce(session('AKIAFIRST', 60 * 60_000)) // until 11:00
    .resolvesOnce(session('AKIASECOND', 120 * 60_000)); // until 12:00
  const signedWith: string[] = [];
  const server = http.createServer((req, res) => {
    signedWith.push(/Credential=([A-Z0-9]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '?');
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Parameter: { Name: '/p', Value: 'v', Type: 'String' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const ssm = new SSMClient({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: assumedRoleCredentials(new STSClient({}), ROLE, 's'),
    });
    const get = () => ssm.send(new GetParameterCommand({ Name: '/p' }));
    await get();
    jest.setSystemTime(new Date('2026-12-04T10:54:00Z'));
    await get();
    jest.setSystemTime(new Date('2026-12-04T10:56:00Z'));
    await get();
    await get();
    // Not vacuous: static credentials (what the tool had) sign every request with the first key.
    expect(signedWith).toEqual(['AKIAFIRST', 'AKIAFIRST', 'AKIASECOND', 'AKIASECOND']);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    ssm.destroy();
  } finally {
    jest.useRealTimers();
    await new Promise((resolve) => server.close(resolve));
  }
});
