// Stack traces of plain objects, the way aws-cdk-lib captures them (`Error.captureStackTrace({})`):
// one per resource for its creation stack and one per acknowledgement (`Validations.acknowledge`),
// about 1,700 per build of the whole app, which no test reads. Jest maps every frame of every stack
// through its source maps (jest-runner installs its source-map support in the worker, with
// `Error.stackTraceLimit = 100`), which made these captures about a fifth of a whole-app build and
// synth in a test (2.4 s against 3.0 s, 4 interleaved builds each way; 40-42 s against 45-46 s for
// five synthesizing test files run together). Here they get V8's own frame text (unmapped) and 10
// frames; errors (Error instances: test failures, thrown validation errors) keep jest's mapped stacks.

const patched = new WeakSet<ErrorConstructor>();

const plainFrames = (_target: unknown, frames: NodeJS.CallSite[]): string =>
  ['Error', ...frames.map((frame) => `    at ${(frame as { toString(): string }).toString()}`)].join('\n');

/** Plain-object stack captures of one realm's `Error` without source mapping (idempotent). */
export function plainStackCaptures(ErrorClass: ErrorConstructor): void {
  if (patched.has(ErrorClass)) return;
  patched.add(ErrorClass);
  const capture = ErrorClass.captureStackTrace.bind(ErrorClass);
  type Below = Parameters<typeof Error.captureStackTrace>[1];
  ErrorClass.captureStackTrace = function captureStackTrace(target: object, below?: Below): void {
    if (target instanceof ErrorClass) return capture(target, below ?? captureStackTrace);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, never called here
    const prepareStackTrace = ErrorClass.prepareStackTrace;
    const stackTraceLimit = ErrorClass.stackTraceLimit;
    ErrorClass.prepareStackTrace = plainFrames;
    ErrorClass.stackTraceLimit = 10;
    try {
      capture(target, below ?? captureStackTrace);
      void (target as { stack?: unknown }).stack; // V8 formats on first read: read it while ours is set
    } finally {
      ErrorClass.prepareStackTrace = prepareStackTrace;
      ErrorClass.stackTraceLimit = stackTraceLimit;
    }
  };
}
