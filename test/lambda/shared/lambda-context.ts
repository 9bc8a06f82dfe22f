/** A Lambda context for calling handlers in tests, and a capture of the JSON lines Powertools Logger prints. */
import type { Context } from 'aws-lambda';

export function lambdaContext(awsRequestId = 'req-00000000-0000-0000-0000-000000000000'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'biomes-dev-alice-Ingest',
    functionVersion: '7',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:biomes-dev-alice-Ingest:live',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/biomes-dev-alice-Ingest',
    logStreamName: '2025/01/01/[7]0123456789abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Captures what is written to stdout and stderr (Powertools Logger prints info to stdout and error
 * to stderr, one JSON object a line) and keeps it off the test output. `lines()` parses the JSON lines.
 */
export function captureLogs(): { lines(): Record<string, unknown>[]; restore(): void } {
  const written: string[] = [];
  const capture = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line): Record<string, unknown> => {
          const parsed: unknown = JSON.parse(line);
          return typeof parsed === 'object' && parsed !== null ? { ...parsed } : {};
        }),
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}
