/**
 * The EventBridge event the trigger receives: S3 `Object Created` from the landing bucket.
 * Parsed with a schema so a malformed event is refused with a reason instead of crashing later.
 */
import * as z from 'zod/mini';
import { decodeS3EventKey } from '../shared/grammar';
import { issueLines } from '../shared/issues';

export const OBJECT_CREATED = 'Object Created';

export const s3EventSchema = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.s3'),
  'detail-type': z.string(),
  time: z.optional(z.string()),
  detail: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(1)) }),
    object: z.object({
      key: z.string().check(z.minLength(1)),
      size: z.optional(z.number().check(z.int(), z.nonnegative())),
      etag: z.optional(z.string()),
      'version-id': z.optional(z.string()),
    }),
    reason: z.optional(z.string()),
    'deletion-type': z.optional(z.string()),
  }),
});

export type S3Event = z.infer<typeof s3EventSchema>;

/**
 * What Lambda's asynchronous on-failure destination writes to the dead-letter queue: the original
 * event under `requestPayload`, next to why it failed. Redriving such a message (invoking the trigger
 * with the message body) must deploy the event it carries, not reject the wrapper.
 */
const destinationRecordSchema = z.object({
  requestContext: z.optional(
    z.object({
      requestId: z.optional(z.string()),
      condition: z.optional(z.string()),
      approximateInvokeCount: z.optional(z.number()),
    }),
  ),
  requestPayload: z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
});

/** The event itself: the input, or the original event inside an on-failure destination record. */
export function unwrapEvent(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || 'source' in raw) return raw;
  const record = destinationRecordSchema.safeParse(raw);
  return record.success ? record.data.requestPayload : raw;
}

/** What the trigger works on once the event is parsed: one object version of the landing bucket. */
export interface LandingObject {
  readonly eventId: string;
  readonly bucket: string;
  /** URL-decoded key. */
  readonly key: string;
  /** Version id (the landing bucket is versioned); the ETag when absent, so a claim is still per content. */
  readonly versionId: string | undefined;
  /** What identifies this delivery for idempotency: version id, else ETag. */
  readonly identity: string;
}

export type EventParse =
  { ok: true; object: LandingObject; detailType: string } | { ok: false; reason: string; rawKey?: string };

/** Parses and decodes; never throws. Accepts the event or a dead-letter record that wraps it. */
export function parseEvent(raw: unknown): EventParse {
  const parsed = s3EventSchema.safeParse(unwrapEvent(raw));
  if (!parsed.success) {
    const problems = issueLines(parsed.error, '(event)');
    return {
      ok: false,
      reason: `not an S3 EventBridge event (${problems.join('; ')}); only the landing bucket's rule should invoke this function`,
    };
  }
  const { detail, id } = parsed.data;
  const rawKey = detail.object.key;
  let key: string;
  try {
    key = decodeS3EventKey(rawKey);
  } catch {
    return {
      ok: false,
      rawKey,
      reason: `key "${rawKey}" is not valid URL encoding (malformed %-escape); publish it again under <biome>/<name>-<sha>.zip|.tar.gz`,
    };
  }
  const versionId = detail.object['version-id'];
  const identity = versionId
    ? `v:${versionId}`
    : detail.object.etag
      ? `etag:${detail.object.etag}`
      : 'unversioned';
  return {
    ok: true,
    detailType: parsed.data['detail-type'],
    object: { eventId: id, bucket: detail.bucket.name, key, versionId, identity },
  };
}

/** A key as S3 writes it into events: URL-encoded per path segment, a space as `+` (docs/design.md "AWS facts"). */
export function encodeS3EventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

/**
 * The EventBridge S3 `Object Created` event of a publication delivered again (one that waited for the
 * inference endpoint, or for a canary to end): the shape {@link parseEvent} reads, with the same
 * version id, so it claims the same delivery its first event released `retryable`.
 */
export function objectCreatedEvent(
  item: { readonly bucket: string; readonly key: string; readonly versionId?: string },
  id: string,
  now: Date,
  reason: string,
): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': OBJECT_CREATED,
    source: 'aws.s3',
    time: now.toISOString(),
    resources: [`arn:aws:s3:::${item.bucket}`],
    detail: {
      version: '0',
      bucket: { name: item.bucket },
      object: {
        key: encodeS3EventKey(item.key),
        ...(item.versionId !== undefined ? { 'version-id': item.versionId } : {}),
      },
      // Not S3's own reason: says where the event came from in the trigger's logs.
      reason,
    },
  };
}
