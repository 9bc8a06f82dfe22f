/**
 * The ledger's conditional writes against the in-memory table of ./fakes: what each condition lets
 * through, as opposed to ./ledger.test.ts, which pins the expressions sent.
 */
import { Ledger, type LedgerTarget } from '../../../lambda/deploy-trigger/ledger';
import { Clock, deps, mocks } from './fakes';

let m: ReturnType<typeof mocks>;
let ledger: Ledger;
/** The ledger handle of model `ranker` of biome `main`. */
let ranker: LedgerTarget;
const now = new Date('2025-06-01T10:00:00.000Z');
const OLD = '2025-06-01T09:00:00.000Z';
const NEW = '2025-06-01T09:30:00.000Z';
const LIVE = 'BIOME#main|LIVE#model#ranker';
const PENDING = 'BIOME#main|PENDING#model#ranker';
const move = (publishedAt: string, key: string) => ({ sha: 'x', publishedAt, key, since: now.toISOString() });

beforeEach(() => {
  m = mocks();
  ledger = new Ledger(deps(new Clock()).db, 'ledger');
  ranker = ledger.target({ biome: 'main', kind: 'model', name: 'ranker' });
});
afterEach(() => {
  for (const mock of [m.s3, m.lambda, m.ssm, m.sagemaker, m.ddb]) mock.restore();
});

describe('high-water mark', () => {
  test('the live record is checked too: a marker removed by an earlier version of the trigger does not let an older move through', async () => {
    m.table.items.set(LIVE, {
      pk: 'BIOME#main',
      sk: 'LIVE#model#ranker',
      publishedAt: NEW,
      key: 'new.tar.gz',
    });
    m.table.items.set(PENDING, { pk: 'BIOME#main', sk: 'PENDING#model#ranker' });
    expect(await ranker.markPending(move(OLD, 'old.tar.gz'))).toBe(false);
    expect(m.table.get('BIOME#main', 'PENDING#model#ranker')?.publishedAt).toBeUndefined();
    // Same time, another key: not the same publication.
    expect(await ranker.markPending(move(NEW, 'other.tar.gz'))).toBe(false);
    // The same publication again (a retry) and a newer one go through.
    expect(await ranker.markPending(move(NEW, 'new.tar.gz'))).toBe(true);
    expect(await ranker.markPending(move('2025-06-01T10:00:00.000Z', 'n.tar.gz'))).toBe(true);
  });

  test('a recorded marker keeps its publication time, so an older move after it is refused', async () => {
    const newer = move(NEW, 'new.tar.gz');
    expect(await ranker.markPending(newer)).toBe(true);
    await ranker.clearPending(newer, now);
    expect(m.table.get('BIOME#main', 'PENDING#model#ranker')).toMatchObject({
      publishedAt: NEW,
      recordedAt: now.toISOString(),
    });
    // No longer reported as a pending move; still the high-water mark.
    expect((await ranker.live()).pending).toBeUndefined();
    expect(await ranker.markPending(move(OLD, 'old.tar.gz'))).toBe(false);
    // A retry of the recorded publication may mark again, and is pending again until recorded.
    expect(await ranker.markPending(newer)).toBe(true);
    expect((await ranker.live()).pending).toMatchObject({ publishedAt: NEW });
  });

  test('the live record accepts the same publication again (an SDK retry), not an older one or another key', async () => {
    const record = { sha: 'b', publishedAt: NEW, liveSince: NEW, key: 'new.tar.gz', deployedRef: 'r' };
    expect(await ranker.setLive(record)).toBe(true);
    expect(await ranker.setLive(record)).toBe(true);
    expect(await ranker.setLive({ ...record, key: 'other.tar.gz' })).toBe(false);
    expect(await ranker.setLive({ ...record, publishedAt: OLD })).toBe(false);
  });
});

describe('per-attempt tokens', () => {
  const first = { owner: 'request-1', token: 'request-1:attempt-1' };
  const retry = { owner: 'request-1', token: 'request-1:attempt-2' };

  test("Lambda's retry (same request id) retakes the lease; the earlier attempt can no longer release it", async () => {
    expect(await ranker.lock(first, now, 660)).toBe(true);
    expect(await ranker.lock(retry, now, 660)).toBe(true);
    await ranker.unlock(first);
    expect(m.table.get('BIOME#main', 'LOCK#model#ranker')).toMatchObject({ token: retry.token });
    expect(await ranker.lock({ owner: 'other', token: 'other:1' }, now, 660)).toBe(false);
    await ranker.unlock(retry);
    expect(m.table.get('BIOME#main', 'LOCK#model#ranker')?.owner).toBeUndefined();
  });

  test("Lambda's retry retakes the claim; only it releases it", async () => {
    expect((await ledger.claim('main/a.zip', 'v:1', first, now, 660)).claim).toBeDefined();
    const { claim } = await ledger.claim('main/a.zip', 'v:1', retry, now, 660);
    expect(claim).toBeDefined();
    await expect(
      ledger.release({ key: 'main/a.zip', identity: 'v:1', holder: first }, 'retryable', now),
    ).rejects.toThrow(/conditional request failed/);
    expect(m.table.get('OBJECT#main/a.zip', 'DELIVERY#v:1')).toMatchObject({ status: 'running' });
    if (!claim) throw new Error("the retry's claim was not taken");
    await ledger.release(claim, 'deployed', now);
    expect(m.table.get('OBJECT#main/a.zip', 'DELIVERY#v:1')).toMatchObject({ status: 'deployed' });
  });
});
