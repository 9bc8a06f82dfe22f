/**
 * Model deploys that arrived while the endpoint slept (ledger partition WAITING_PK, one item per biome
 * and model: the newest publication), delivered once the endpoint is in service again: each goes to the
 * deploy trigger as the S3 `Object Created` event it was (the shape lambda/deploy-trigger/event.ts
 * parses), asynchronously, and its item is then deleted only if it still names the same publication, so
 * one written meanwhile stays for the next run. Deliveries are at least once (a failed delete is
 * delivered again); the deploy trigger is idempotent per object version.
 */
import { randomUUID } from 'node:crypto';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { DeleteCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY } from '../deploy-trigger/ledger-keys';
import { objectCreatedEvent } from '../deploy-trigger/event';
import { WAITING_PK } from '../shared/inference-schedule';
import { issueLines } from '../shared/issues';
import type { Deps } from './deps';

const waitingItemSchema = z.object({
  [LEDGER_PARTITION_KEY]: z.literal(WAITING_PK),
  [LEDGER_SORT_KEY]: z.string().check(z.minLength(1)),
  biome: z.string(),
  name: z.string(),
  bucket: z.string().check(z.minLength(1)),
  key: z.string().check(z.minLength(1)),
  versionId: z.optional(z.string().check(z.minLength(1))),
  publishedAt: z.string(),
  waitingSince: z.optional(z.string()),
});

export interface Delivery {
  /** Items sent to the deploy trigger (and deleted, or kept because a newer one replaced them). */
  readonly delivered: number;
  /** Items that could not be read or sent; kept for the next run. */
  readonly failed: number;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Delivers every waiting model deploy once; never throws for one item (it is logged and kept). */
export async function deliverWaiting(deps: Deps): Promise<Delivery> {
  const { settings, logger } = deps;
  const newId = deps.newId ?? randomUUID;
  let delivered = 0;
  let failed = 0;
  const pages = paginateQuery(
    { client: deps.db },
    {
      TableName: settings.ledgerTable,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
      ExpressionAttributeValues: { ':pk': WAITING_PK },
    },
  );
  for await (const page of pages) {
    for (const raw of page.Items ?? []) {
      const parsed = waitingItemSchema.safeParse(raw);
      if (!parsed.success) {
        failed++;
        logger.error('waiting model deploy is malformed: kept, not delivered', {
          item: raw,
          problems: issueLines(parsed.error, '(item)'),
        });
        continue;
      }
      const item = parsed.data;
      const id = `inference-endpoint-${newId()}`;
      try {
        await deps.lambda.send(
          new InvokeCommand({
            FunctionName: settings.deployTrigger,
            InvocationType: 'Event',
            Payload: Buffer.from(
              JSON.stringify(objectCreatedEvent(item, id, deps.now(), 'InferenceEndpointAwake')),
            ),
          }),
        );
      } catch (e) {
        failed++;
        logger.error('delivering a waiting model deploy failed: kept for the next run', {
          sk: item[LEDGER_SORT_KEY],
          key: item.key,
          error: messageOf(e),
        });
        continue;
      }
      delivered++;
      logger.info('waiting model deploy delivered', {
        sk: item[LEDGER_SORT_KEY],
        key: item.key,
        versionId: item.versionId,
        eventId: id,
      });
      try {
        await deps.db.send(
          new DeleteCommand({
            TableName: settings.ledgerTable,
            Key: { [LEDGER_PARTITION_KEY]: WAITING_PK, [LEDGER_SORT_KEY]: item[LEDGER_SORT_KEY] },
            ConditionExpression: '#key = :key AND #publishedAt = :publishedAt',
            ExpressionAttributeNames: { '#key': 'key', '#publishedAt': 'publishedAt' },
            ExpressionAttributeValues: { ':key': item.key, ':publishedAt': item.publishedAt },
          }),
        );
      } catch (e) {
        if (e instanceof Error && e.name === 'ConditionalCheckFailedException') {
          logger.info('a newer publication is waiting: kept for the next run', { sk: item[LEDGER_SORT_KEY] });
        } else {
          // Delivered but not deleted: the next run delivers it again, which the trigger deduplicates.
          logger.error('deleting a delivered waiting model deploy failed', {
            sk: item[LEDGER_SORT_KEY],
            error: messageOf(e),
          });
        }
      }
    }
  }
  return { delivered, failed };
}
