/**
 * Reads an environment's deployment ledger for the verify step, through the item layout the deploy
 * trigger writes (lambda/deploy-trigger/ledger-keys.ts): the live record of a name, and the history
 * of that name filtered to one commit.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  OUTCOME_STATUSES,
  pk,
  sk,
} from '../../../lambda/deploy-trigger/ledger-keys';
import type { ArtifactKind } from '../../../lambda/shared/grammar';
import type { LedgerReader, LiveView, OutcomeView } from './verify';

const STATUSES = new Set<string>(OUTCOME_STATUSES);

function str(item: Record<string, unknown>, key: string): string {
  const v = item[key];
  return typeof v === 'string' ? v : '';
}

export function dynamoLedgerReader(db: DynamoDBDocumentClient, table: string): LedgerReader {
  return {
    async live(biome: string, kind: ArtifactKind, name: string): Promise<LiveView | undefined> {
      const out = await db.send(
        new GetCommand({
          TableName: table,
          Key: { [LEDGER_PARTITION_KEY]: pk.biome(biome), [LEDGER_SORT_KEY]: sk.live(kind, name) },
          ConsistentRead: true,
        }),
      );
      if (!out.Item) return undefined;
      return {
        sha: str(out.Item, 'sha'),
        publishedAt: str(out.Item, 'publishedAt'),
        deployedRef: str(out.Item, 'deployedRef'),
      };
    },

    async outcomes(biome: string, kind: ArtifactKind, name: string, sha: string): Promise<OutcomeView[]> {
      const found: OutcomeView[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            FilterExpression: 'sha = :sha',
            ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#sk': LEDGER_SORT_KEY },
            ExpressionAttributeValues: {
              ':pk': pk.biome(biome),
              ':prefix': sk.historyOf(kind, name),
              ':sha': sha,
            },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const status = str(item, 'status');
          if (!STATUSES.has(status)) continue;
          found.push({
            status: status as OutcomeView['status'],
            reason: str(item, 'reason'),
            recordedAt: str(item, 'recordedAt'),
            ...(item.retrying === true ? { retrying: true } : {}),
          });
        }
        start = out.LastEvaluatedKey;
      } while (start);
      // Sort keys carry the recording time, so the query returns them oldest first.
      return found;
    },
  };
}
