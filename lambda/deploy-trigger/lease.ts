/**
 * The per-name lease of the deploy trigger (lambda/deploy-trigger/ledger.ts LedgerTarget.lock): a deploy,
 * a canary's end and a bake's rollback of one service or model never interleave.
 */
import type { Budget } from './budget';
import type { Holder, LedgerTarget } from './ledger';
import { Retryable } from './outcome';

/** How often a wait for a claim or a lease looks again. */
export const POLL_MS = 2_000;

export interface LeaseDeps {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly settings: { readonly leaseSeconds: number };
}

/**
 * Takes the per-name lease, waiting for another deploy of the name for as long as this invocation's
 * budget allows: a legitimate holder may keep it for a whole invocation, and a fixed short wait would
 * spend Lambda's attempts while it runs and send a newer publication to the dead-letter queue.
 */
export async function lock(
  deps: LeaseDeps,
  entry: LedgerTarget,
  budget: Budget,
  holder: Holder,
): Promise<void> {
  const { kind, name, biome } = entry.ref;
  const started = deps.now().getTime();
  const deadline = budget.waitDeadline(`waiting for the lease of ${kind} "${name}"`, started);
  while (!(await entry.lock(holder, deps.now(), deps.settings.leaseSeconds))) {
    if (deps.now().getTime() >= deadline) {
      throw new Retryable(
        `another deploy of ${kind} "${name}" in biome "${biome}" held the lease for ${Math.round((deps.now().getTime() - started) / 1000)} s, all this invocation had left; retried by Lambda, when the holder has finished or its lease has run out`,
      );
    }
    await deps.sleep(POLL_MS);
  }
}
