/** Retry with capped exponential backoff; the sleep is injected so tests run instantly. */
export interface RetryOptions {
  /** Total attempts including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** `partial` over `defaults`, field by field (an unset or undefined field takes the default). */
export function retryWithDefaults(defaults: RetryOptions, partial: Partial<RetryOptions> = {}): RetryOptions {
  return {
    attempts: partial.attempts ?? defaults.attempts,
    baseDelayMs: partial.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: partial.maxDelayMs ?? defaults.maxDelayMs,
    sleep: partial.sleep ?? defaults.sleep,
  };
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `action`, again after a wait while it throws what `isRetryable` accepts, at most
 * `options.attempts` times; waits double from `baseDelayMs` up to `maxDelayMs`. The last error is
 * thrown as it is.
 */
export async function withRetry<T>(
  action: () => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions,
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= options.attempts || !isRetryable(error)) throw error;
      await sleep(Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}
