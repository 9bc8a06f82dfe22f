/**
 * Running a synthesized state machine definition with aws-local-stepfunctions (an independent Step
 * Functions interpreter), its Task states bound to local handlers: what the workflow tests share.
 */
import { StateMachine } from 'aws-local-stepfunctions';

export type Json = Record<string, unknown>;
/** The library declares its event type without exporting it. */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** An error with the name a Task's Catch and Retry match on (Lambda's errorType). */
export class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface LocalRun {
  readonly output?: Json;
  readonly error?: unknown;
  readonly events: EventLog[];
}

export interface LocalRunOptions {
  /** The handler of each Task state, by state name. */
  readonly handlers: Record<string, (input: Json) => Promise<Json>>;
  /** States whose retry intervals become 0: the retry logic stays, the waiting goes. */
  readonly noRetryWait?: readonly string[];
  /** The context object (`$$`), e.g. the execution's name. */
  readonly context?: Json;
}

/** Runs `definition` on `input` to its end, collecting every event; a failed execution is `error`. */
export async function runLocally(
  definition: Json,
  input: unknown,
  options: LocalRunOptions,
): Promise<LocalRun> {
  const machine = new StateMachine(definition as never);
  const execution = machine.run(input as never, {
    ...(options.context ? { context: options.context } : {}),
    overrides: {
      taskResourceLocalHandlers: options.handlers as never,
      retryIntervalOverrides: Object.fromEntries((options.noRetryWait ?? []).map((s) => [s, 0])),
    },
  });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();
  try {
    const output = (await execution.result) as Json;
    await collecting;
    return { output, events };
  } catch (error) {
    await collecting;
    return { error, events };
  }
}

/** The names of the states entered, in order. */
export const entered = (events: EventLog[]): string[] =>
  events
    .filter((e): e is Extract<EventLog, { type: 'StateEntered' }> => e.type === 'StateEntered')
    .map((e) => e.state.name);
