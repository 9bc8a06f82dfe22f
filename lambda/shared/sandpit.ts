/**
 * The sandpit lifecycle contract (docs/design.md "Sandpit lifecycle"): the stack tags that give a
 * sandpit its owner and lifetime, the rules for their values, how its expiry is computed, and the
 * ledger record that keeps them. The config (synth), the biome stack, the sweeper and the ledger
 * recorder all import it, so they never disagree. Pure: no AWS or CDK imports.
 *
 * Templates stay deterministic: the stack is tagged with its lifetime in days, never a computed date
 * (a date would change the template on every synth and show in every `cdk diff`); the expiry is the
 * last deploy time plus the lifetime, computed by whoever needs it from {@link expiryOf}.
 */

/** Stack tags of every sandpit (CloudFormation copies them onto the stack's taggable resources). */
export const SANDPIT_TAGS = {
  /** The owner's email address: expiry notices and failed deploys go there. */
  owner: 'owner',
  /** Days the sandpit lives after its last deploy, a whole number. */
  ttlDays: 'ttl-days',
  /** `true`: reported when past its expiry, never deleted by the sweeper. */
  keep: 'keep',
} as const;

/** How long before its expiry the owner is told: one day. */
export const EXPIRY_NOTICE_MS = 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The moment a sandpit last deployed at `lastDeployAt` with a lifetime of `ttlDays` expires. */
export function expiryOf(lastDeployAt: Date, ttlDays: number): Date {
  return new Date(lastDeployAt.getTime() + ttlDays * DAY_MS);
}

/**
 * An email address as owners are given (`-c owner=` or the Git author): one `@`, a dot in the domain,
 * no spaces. Not RFC 5322 in full: what SNS email subscriptions and a person can use.
 */
export const OWNER_PATTERN = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/**
 * What a tag value may hold: the owner is a stack tag, which CloudFormation copies onto every taggable
 * resource, and IAM, Lambda, SSM and Step Functions accept `^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$` only (their
 * API references, `Tag` value). An address with `'`, `!`, `#`, ... would pass synth and fail the deploy.
 */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Why `owner` is not a usable owner, or undefined. */
export function ownerProblem(owner: string): string | undefined {
  if (owner.length > 254 || !OWNER_PATTERN.test(owner)) {
    return `"${owner}" is not an email address (name@example.com): the owner receives expiry notices and failed deploys`;
  }
  if (!TAG_VALUE.test(owner)) {
    return `"${owner}" has characters an AWS tag value cannot hold (only letters, digits, spaces and _ . : / = + - @): the owner is a tag of the sandpit's resources; pass -c owner=<an address without them>`;
  }
  return undefined;
}

/** Why `text` is not a lifetime in days at most `maxDays`, or undefined. */
export function ttlProblem(text: string, maxDays: number): string | undefined {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    return `"${text}" must be a positive whole number of days (e.g. 7)`;
  }
  if (Number(text) > maxDays) {
    return `"${text}" is above the maximum of ${maxDays} days (biomes.sandpits.maxTtlDays); use -c keep=true for a sandpit that must outlive it`;
  }
  return undefined;
}

/** The lifecycle states of a sandpit, as its ledger record and history name them. */
export type SandpitStatus =
  /** Deployed (by `cdk deploy` or the sandpit pipeline) and not expired. */
  | 'active'
  /** Its expiry notice went to the owner. */
  | 'notified'
  /** Past its expiry but marked `keep`: reported, not deleted. */
  | 'kept'
  /** The sweeper started deleting it. */
  | 'expired'
  /** The sweeper's delete failed; it retries the next day. */
  | 'expiry-failed'
  /** Its stack is gone (`cdk destroy`, the sweeper, or anyone else): its live rows are removed. */
  | 'destroyed';

/**
 * The ledger's record of one sandpit (`BIOME#<biome>` / `SANDPIT`), written by the ledger recorder on
 * every CDK deploy of the stack and updated by the sweeper. The item also carries the live index's keys
 * (lambda/deploy-trigger/ledger-keys.ts LIVE_INDEX), so the one query of what is live lists it.
 */
export interface SandpitRecord {
  readonly biome: string;
  readonly stackName: string;
  readonly owner: string;
  readonly ttlDays: number;
  readonly keep: boolean;
  /** ISO time of the last CDK deploy that changed the stack (its commit, code or tags). */
  readonly lastDeployAt: string;
  /** ISO time the sandpit expires: lastDeployAt + ttlDays. */
  readonly expiresAt: string;
  /** The commit the working tree (or the pipeline) deployed, and whether the tree had changes. */
  readonly commit?: string;
  readonly dirty?: boolean;
  readonly status: SandpitStatus;
  /** Set when code changed outside CloudFormation (`cdk deploy --hotswap`): what is live may be ahead. */
  readonly mayBeAhead?: string;
  /** The expiry (ISO) the owner was last told about: one notice per expiry. */
  readonly noticeSentFor?: string;
}

/** Message attribute of every owner notification: the owners topic's subscriptions filter on it. */
export const OWNER_NOTICE_ATTRIBUTE = 'biome';

/**
 * The stack name in a CloudFormation stack ARN
 * (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`), or undefined.
 */
export function stackNameOfArn(stackId: string): string | undefined {
  const match =
    /^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack\/([A-Za-z][A-Za-z0-9-]*)\/[^/]+$/.exec(stackId);
  return match?.[1];
}
