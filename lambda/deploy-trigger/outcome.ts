/**
 * How a step ends a deployment early with a recorded outcome. A `Stop` is final: retrying cannot
 * change it (bad input, a failed smoke check), so the handler records it and returns. Any other
 * error is transient as far as we know (./errors maps the known permanent ones to a final failure):
 * recorded as failed, then rethrown for the platform to retry.
 */
import type { BiomeScope } from '../shared/scope';
import type { Status } from './ledger';

/** The named fields of `o` that are set (for records that must not carry `undefined`). */
export function optional<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.flatMap((k) => (o[k] === undefined ? [] : [[k, o[k]]]))) as Partial<
    Pick<T, K>
  >;
}

/** One landing object being deployed: whose, what, and where it is. */
export interface ArtifactTarget {
  /** The biome (of this app and environment) it deploys to; every name of the biome derives from it. */
  readonly scope: BiomeScope;
  readonly name: string;
  readonly sha: string;
  /** Landing bucket and (decoded) key of the object. */
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

export class Stop extends Error {
  private constructor(
    readonly status: Exclude<Status, 'deployed'>,
    readonly reason: string,
    readonly previousSha?: string,
  ) {
    super(reason);
    this.name = 'Stop';
  }

  static rejected(reason: string): Stop {
    return new Stop('rejected', reason);
  }

  static skipped(reason: string, previousSha?: string): Stop {
    return new Stop('skipped', reason, previousSha);
  }

  /**
   * A model that waits for the inference endpoint to wake (recorded, not failed): its owner delivers
   * the publication again once the endpoint is in service; `live` stays where it was until then.
   */
  static waiting(reason: string, previousSha?: string): Stop {
    return new Stop('waiting', reason, previousSha);
  }

  /**
   * A service whose CodeDeploy canary started: not an ending of the publication (its deployment-state
   * event records `deployed` or `rolled-back`), but the end of this delivery: a duplicate is skipped.
   */
  static canary(reason: string, previousSha?: string): Stop {
    return new Stop('canary', reason, previousSha);
  }

  /** A failure that retrying cannot fix; `live` stays where it was. */
  static failed(reason: string, previousSha?: string): Stop {
    return new Stop('failed', reason, previousSha);
  }
}

/**
 * Not final: the event must be retried (by Lambda's async retries, then the dead-letter queue).
 * Used where waiting longer would risk the function timeout, which records nothing.
 */
export class Retryable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Retryable';
  }
}
