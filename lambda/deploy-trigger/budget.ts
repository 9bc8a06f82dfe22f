/**
 * The deploy trigger's time budget. Every wait (claim, lease, code update, smoke check, model head
 * read, model copy, validation on the endpoint) is capped by what is left of the invocation, minus
 * a reserve to record the outcome and release the claim, so a slow step ends in a retryable error
 * with a reason instead of a Lambda timeout that records nothing. The construct sets the function timeout from this module, so the
 * two cannot drift apart. Pure: no AWS or CDK imports.
 */
import { Retryable } from './outcome';

/** Function timeout (seconds) the construct sets; the waits below fit in it with room to spare. */
export const FUNCTION_TIMEOUT_SECONDS = 600;
/** Longest wait for UpdateFunctionCode to finish (the SDK waiter's maxWaitTime, when time allows). */
export const UPDATE_WAIT_SECONDS = 300;
/** Kept back from every step: recording the outcome and releasing the claim and the lease. */
export const RESERVE_MS = 20_000;
/** A step that cannot get this long is not started (an update that cannot finish helps nobody). */
export const MIN_STEP_MS = 5_000;

/** Raised when the invocation is about to run out of time; not final, so Lambda retries the event. */
export class OutOfTime extends Retryable {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfTime';
  }
}

export class Budget {
  /** @param remainingMs what is left of the invocation (Lambda's `context.getRemainingTimeInMillis`). */
  constructor(private readonly remainingMs: () => number) {}

  /**
   * Milliseconds `step` may use. Throws {@link OutOfTime} when fewer than `atLeastMs` are left after
   * the reserve, so the step is not started.
   */
  left(step: string, atLeastMs = MIN_STEP_MS): number {
    const remaining = this.remainingMs();
    const usable = remaining - RESERVE_MS;
    if (usable < atLeastMs) {
      throw new OutOfTime(
        `out of time before ${step}: ${Math.max(0, Math.floor(remaining / 1000))} s of this invocation left, ${RESERVE_MS / 1000} s are kept to record the outcome; stopped before the function timeout`,
      );
    }
    return usable;
  }

  /**
   * Epoch milliseconds until which `step` may wait for another invocation (a lease or a claim it
   * holds): everything left after the reserve. A legitimate holder may keep a lease for a whole
   * invocation (up to {@link FUNCTION_TIMEOUT_SECONDS}); a fixed short wait would spend Lambda's
   * three attempts while it runs and send the newer publication to the dead-letter queue.
   */
  waitDeadline(step: string, nowMs: number): number {
    return nowMs + this.left(step, 0);
  }

  /**
   * Runs `run` with an abort signal that fires when `step`'s share of the budget is spent, and
   * rejects with {@link OutOfTime} then even if the call ignores the signal.
   */
  async within<T>(step: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.left(step);
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new OutOfTime(
            `${step} did not finish within ${Math.round(ms / 1000)} s, all this invocation had left; stopped before the function timeout`,
          ),
        );
      }, ms);
    });
    try {
      return await Promise.race([run(controller.signal), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
