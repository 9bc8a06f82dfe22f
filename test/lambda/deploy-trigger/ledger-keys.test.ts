/**
 * The ledger's key attribute names and values: shared with the table construct, and pinned here
 * because existing ledgers hold items under exactly these keys.
 */
import {
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  ledgerKey,
  pk,
  sk,
} from '../../../lambda/deploy-trigger/ledger-keys';

const AT = '2025-06-01T10:00:00.000Z';

test('the key attributes are pk and sk, the names the table was created with', () => {
  expect(LEDGER_PARTITION_KEY).toBe('pk');
  expect(LEDGER_SORT_KEY).toBe('sk');
  expect(ledgerKey('BIOME#main', 'LIVE#service#ingest')).toEqual({
    pk: 'BIOME#main',
    sk: 'LIVE#service#ingest',
  });
});

test('every partition and sort key value keeps its stored layout', () => {
  expect(pk.biome('alice-b')).toBe('BIOME#alice-b');
  expect(pk.object('main/ingest-abc.zip')).toBe('OBJECT#main/ingest-abc.zip');
  expect(pk.unparsed).toBe('UNPARSED');
  expect(sk.live('model', 'ranker')).toBe('LIVE#model#ranker');
  expect(sk.pending('service', 'ingest')).toBe('PENDING#service#ingest');
  expect(sk.lock('service', 'ingest')).toBe('LOCK#service#ingest');
  expect(sk.history('model', 'ranker', AT, 'e1')).toBe('HISTORY#model#ranker#2025-06-01T10:00:00.000Z#e1');
  expect(sk.unparsedHistory(AT, 'e1')).toBe('HISTORY#2025-06-01T10:00:00.000Z#e1');
  expect(sk.delivery('v:abc')).toBe('DELIVERY#v:abc');
});

test('prefixes never collide: kinds, names that extend another, and biomes stay apart', () => {
  // "What is live in biome X" and "history of S in X" are begins_with queries on these prefixes.
  expect(sk.live('service', 'ranker').startsWith('LIVE#model#')).toBe(false);
  expect(sk.history('service', 'ingest-v2', AT, 'e').startsWith('HISTORY#service#ingest#')).toBe(false);
  expect(sk.history('service', 'ingest', AT, 'e').startsWith('HISTORY#service#ingest#')).toBe(true);
  // Unparsed history lives in its own partition, never under a biome's.
  expect(pk.unparsed).not.toBe(pk.biome('unparsed'));
  expect(pk.biome('alice')).not.toBe(pk.biome('alice-b'));
});
