// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks (Node 22 has it).
const P = Promise as unknown as { withResolvers?: () => unknown };
if (!P.withResolvers) {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// Stack traces of plain objects, the way aws-cdk-lib captures them (`Error.captureStackTrace({})`):
// one per resource for its creation stack and one per acknowledgement (`Validations.acknowledge`),
// about 1,700 per build of the whole app, which no test reads. Jest maps every frame of every stack
// through its source maps (jest-runner installs its source-map support in the worker, with
// `Error.stackTraceLimit = 100`), which made these captures about a fifth of a whole-app build and
// synth in a test (2.4 s against 3.0 s, 4 interleaved builds each way; 40-42 s against 45-46 s for
// five synthesizing test files run together). Here they get V8's own frame text (unmapped) and 10
// frames; errors (Error instances: test failures, thrown validation errors) keep jest's mapped stacks.
const capture = Error.captureStackTrace.bind(Error);
const plainFrames = (_target: unknown, frames: NodeJS.CallSite[]): string =>
  ['Error', ...frames.map((frame) => `    at ${(frame as { toString(): string }).toString()}`)].join('\n');
type Below = Parameters<typeof Error.captureStackTrace>[1];
Error.captureStackTrace = function captureStackTrace(target: object, below?: Below): void {
  if (target instanceof Error) return capture(target, below ?? captureStackTrace);
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, never called here
  const prepareStackTrace = Error.prepareStackTrace;
  const stackTraceLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = plainFrames;
  Error.stackTraceLimit = 10;
  try {
    capture(target, below ?? captureStackTrace);
    void (target as { stack?: unknown }).stack; // V8 formats on first read: read it while ours is set
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
};
