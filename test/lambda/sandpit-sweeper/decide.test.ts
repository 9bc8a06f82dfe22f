/** The sweeper's pure decisions: which stacks are sandpits, their expiry, and what a run does with each. */
import {
  type Decision,
  decide,
  deleteToken,
  ledgerFactsOf,
  lifetimeOf,
  noticeOf,
  sandpitOf,
} from '../../../lambda/sandpit-sweeper/sweep';
import { EXPIRY_NOTICE_MS } from '../../../lambda/shared/sandpit';
import { EnvScope } from '../../../lambda/shared/scope';
import { DAY_MS, NOW, before, describedStack, sandpit, settings } from './fakes';

const scope = settings.scope;

/** A sandpit whose expiry (7-day lifetime) is `leftMs` after NOW. */
function expiringIn(leftMs: number, overrides: Parameters<typeof sandpit>[0] = {}) {
  return sandpit({ updatedAt: before(7 * DAY_MS - leftMs), ...overrides });
}

function effects(d: Decision) {
  return { action: d.action, record: d.record, notify: d.notify, deleteStack: d.deleteStack };
}

describe('decide', () => {
  test('a sandpit far from its expiry: nothing to do, reported active with its expiry', () => {
    const d = decide(sandpit(), undefined, settings, NOW);
    expect(effects(d)).toEqual({ action: 'none', record: false, notify: false, deleteStack: false });
    expect(d.expiresAt).toEqual(new Date('2025-06-14T06:00:00.000Z'));
    expect(d.detail).toBe('active; expires at 2025-06-14T06:00:00.000Z');
  });

  test('within a day of its expiry: the owner is told and it is recorded, nothing deleted', () => {
    const d = decide(expiringIn(6 * 60 * 60 * 1000), undefined, settings, NOW);
    expect(effects(d)).toEqual({ action: 'notified', record: true, notify: true, deleteStack: false });
  });

  test('the notice goes once per expiry', () => {
    const stack = expiringIn(6 * 60 * 60 * 1000);
    const expiry = decide(stack, undefined, settings, NOW).expiresAt.toISOString();
    const told = decide(stack, { status: 'notified', noticeSentFor: expiry }, settings, NOW);
    expect(effects(told)).toEqual({ action: 'none', record: false, notify: false, deleteStack: false });
    expect(told.detail).toMatch(/owner was told on an earlier run/);
    // A later deploy moved the expiry: the old notice does not count for the new one.
    const moved = decide(stack, { noticeSentFor: '2025-06-01T00:00:00.000Z' }, settings, NOW);
    expect(moved.action).toBe('notified');
  });

  test('past its expiry and not kept: deleted (once) and recorded, owner told', () => {
    const d = decide(expiringIn(-DAY_MS), undefined, settings, NOW);
    expect(effects(d)).toEqual({ action: 'expired', record: true, notify: true, deleteStack: true });
  });

  test('past its expiry and kept: reported and recorded once per expiry, never deleted', () => {
    const stack = expiringIn(-DAY_MS, { keepTag: 'true' });
    const first = decide(stack, undefined, settings, NOW);
    expect(effects(first)).toEqual({ action: 'kept', record: true, notify: true, deleteStack: false });
    const again = decide(stack, { status: 'kept', expiresAt: first.expiresAt.toISOString() }, settings, NOW);
    expect(effects(again)).toEqual({ action: 'kept', record: false, notify: false, deleteStack: false });
    expect(again.detail).toMatch(/already reported/);
    const newExpiry = decide(stack, { status: 'kept', expiresAt: '2025-01-01T00:00:00.000Z' }, settings, NOW);
    expect(effects(newExpiry)).toEqual({ action: 'kept', record: true, notify: true, deleteStack: false });
  });

  test('only keep=true keeps', () => {
    for (const keepTag of ['false', 'TRUE', 'yes', '']) {
      expect(decide(expiringIn(-1, { keepTag }), undefined, settings, NOW).action).toBe('expired');
    }
    expect(decide(expiringIn(-1, { keepTag: undefined }), undefined, settings, NOW).action).toBe('expired');
  });

  test('a delete that ended DELETE_FAILED: expiry-failed with the reason, owner told, delete retried once', () => {
    const reason = 'The following resource(s) failed to delete: [Bucket1234].';
    const d = decide(
      expiringIn(-DAY_MS, { status: 'DELETE_FAILED', statusReason: reason, keepTag: 'true' }),
      { status: 'expired' },
      settings,
      NOW,
    );
    expect(effects(d)).toEqual({ action: 'expiry-failed', record: true, notify: true, deleteStack: true });
    expect(d.reason).toBe(reason);
  });

  test.each([
    ['a kept sandpit', { keepTag: 'true' }, -DAY_MS],
    ['an unexpired sandpit', {}, DAY_MS],
  ])(
    "DELETE_FAILED after its owner's own delete (%s): left to the owner, no expiry notice, no delete",
    (_what, tags, inMs) => {
      const d = decide(
        expiringIn(inMs, { status: 'DELETE_FAILED', statusReason: 'bucket not empty', ...tags }),
        { status: 'active' },
        settings,
        NOW,
      );
      expect(effects(d)).toEqual({ action: 'busy', record: false, notify: false, deleteStack: false });
      expect(d.detail).toContain('a delete the sweeper did not start');
    },
  );

  test('a stack REVIEW_IN_PROGRESS (a change set never executed) past its expiry expires: it would stay so for ever', () => {
    expect(decide(expiringIn(-1, { status: 'REVIEW_IN_PROGRESS' }), undefined, settings, NOW).action).toBe(
      'expired',
    );
  });

  test.each(['DELETE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'])(
    'a stack %s is busy: left alone even past its expiry',
    (status) => {
      const d = decide(expiringIn(-DAY_MS, { status }), undefined, settings, NOW);
      expect(effects(d)).toEqual({ action: 'busy', record: false, notify: false, deleteStack: false });
      expect(d.detail).toContain(status);
    },
  );

  test('a stack in ROLLBACK_COMPLETE (failed first deploy) still expires', () => {
    expect(decide(expiringIn(-1, { status: 'ROLLBACK_COMPLETE' }), undefined, settings, NOW).action).toBe(
      'expired',
    );
  });

  describe('clock edges', () => {
    test.each<[string, number, string]>([
      ['exactly at the expiry', 0, 'expired'],
      ['1 ms after the expiry', -1, 'expired'],
      ['1 ms before the expiry', 1, 'notified'],
      ['exactly 24 h before', EXPIRY_NOTICE_MS, 'notified'],
      ['24 h + 1 ms before', EXPIRY_NOTICE_MS + 1, 'none'],
    ])('%s: %s', (_, leftMs, action) => {
      const stack = expiringIn(leftMs);
      const d = decide(stack, undefined, settings, NOW);
      expect(d.expiresAt.getTime() - NOW.getTime()).toBe(leftMs);
      expect(d.action).toBe(action);
    });
  });

  describe('last deploy', () => {
    test('a ledger deploy later than the stack update extends the lifetime', () => {
      const stack = expiringIn(0); // by the stack alone: expired
      const d = decide(stack, { lastDeployAt: before(DAY_MS).toISOString() }, settings, NOW);
      expect(d.lastDeployAt).toEqual(before(DAY_MS));
      expect(d.expiresAt).toEqual(new Date(NOW.getTime() + 6 * DAY_MS));
      expect(d.action).toBe('none');
    });

    test('an older ledger deploy does not shorten it, an unreadable one is ignored', () => {
      const stack = sandpit();
      const older = decide(stack, { lastDeployAt: before(30 * DAY_MS).toISOString() }, settings, NOW);
      expect(older.lastDeployAt).toEqual(stack.updatedAt);
      const junk = decide(stack, { lastDeployAt: 'yesterday' }, settings, NOW);
      expect(junk.lastDeployAt).toEqual(stack.updatedAt);
    });

    test('a stack never updated counts from its creation', () => {
      const d = decide(
        sandpit({ updatedAt: undefined, createdAt: before(2 * DAY_MS) }),
        undefined,
        settings,
        NOW,
      );
      expect(d.lastDeployAt).toEqual(before(2 * DAY_MS));
    });
  });

  describe('lifetime', () => {
    test('the ttl-days tag sets it', () => {
      const d = decide(sandpit({ ttlTag: '2', updatedAt: before(DAY_MS) }), undefined, settings, NOW);
      expect(d.ttlDays).toBe(2);
      expect(d.ttlDefaulted).toBeUndefined();
      expect(d.action).toBe('notified');
    });

    test('a missing tag takes the default, and the report says so', () => {
      const d = decide(sandpit({ ttlTag: undefined }), undefined, { defaultTtlDays: 14 }, NOW);
      expect(d.ttlDays).toBe(14);
      expect(d.expiresAt).toEqual(new Date(before(3 * DAY_MS).getTime() + 14 * DAY_MS));
      expect(d.ttlDefaulted).toBe('no ttl-days tag: default 14 days');
      expect(d.detail).toContain('(no ttl-days tag: default 14 days)');
    });

    test.each(['0', 'abc', '1.5', '-3', '', ' 7'])('an unreadable tag %j takes the default', (ttlTag) => {
      const d = decide(sandpit({ ttlTag }), undefined, { defaultTtlDays: 5 }, NOW);
      expect(d.ttlDays).toBe(5);
      expect(d.ttlDefaulted).toMatch(
        /^ttl-days tag ".*" must be a positive whole number of days.*: default 5 days$/,
      );
    });

    test('lifetimeOf', () => {
      expect(lifetimeOf('30', 7)).toEqual({ ttlDays: 30 });
      expect(lifetimeOf(undefined, 7)).toEqual({ ttlDays: 7, defaulted: 'no ttl-days tag: default 7 days' });
    });
  });
});

describe('sandpitOf', () => {
  test('a biome stack of this app and environment is a sandpit, with its tags', () => {
    const stack = describedStack('alice', {
      status: 'DELETE_FAILED',
      reason: 'bucket not empty',
      updated: before(DAY_MS),
    });
    expect(sandpitOf(stack, scope)).toEqual({
      biome: 'alice',
      stackName: 'biomes-dev-alice',
      status: 'DELETE_FAILED',
      statusReason: 'bucket not empty',
      createdAt: before(10 * DAY_MS),
      updatedAt: before(DAY_MS),
      owner: 'alice@example.com',
      ttlTag: '7',
      keepTag: 'false',
    });
    const bare = sandpitOf(
      describedStack('bob', { tags: { owner: undefined, 'ttl-days': undefined } }),
      scope,
    );
    expect(bare).toMatchObject({ biome: 'bob' });
    expect(bare).not.toHaveProperty('owner');
    expect(bare).not.toHaveProperty('ttlTag');
  });

  test.each<[string, ReturnType<typeof describedStack>]>([
    ['the mainline biome', describedStack('main')],
    ['another app', describedStack('alice', { app: 'other' })],
    ['another environment', describedStack('alice', { env: 'staging' })],
    [
      'a stack name other than the biome stack (a nested stack)',
      describedStack('alice', { name: 'biomes-dev-alice-Nested-1AB2' }),
    ],
    [
      'a stack named like a sandpit whose biome tag differs',
      describedStack('bob', { name: 'biomes-dev-alice' }),
    ],
    ['a reserved biome name', describedStack('shared')],
    ['an off-grammar biome name', describedStack('Alice', { name: 'biomes-dev-Alice' })],
    ['no biome tag', describedStack('alice', { tags: { biome: undefined } })],
    ['no app tag', describedStack('alice', { tags: { app: undefined } })],
  ])('ignores %s', (_, stack) => {
    expect(sandpitOf(stack, scope)).toBeUndefined();
  });

  test('another app with the same names is not this one', () => {
    expect(sandpitOf(describedStack('alice', { app: 'other' }), new EnvScope('other', 'dev'))).toMatchObject({
      stackName: 'other-dev-alice',
    });
  });
});

describe('ledgerFactsOf', () => {
  test('reads the fields of the right type only', () => {
    expect(ledgerFactsOf(undefined)).toBeUndefined();
    expect(
      ledgerFactsOf({ status: 'kept', expiresAt: 'x', noticeSentFor: 5, owner: 'a@b.c', lastDeployAt: 'y' }),
    ).toEqual({ status: 'kept', expiresAt: 'x', owner: 'a@b.c', lastDeployAt: 'y' });
    expect(ledgerFactsOf({ status: 'bogus' })).toEqual({});
  });
});

describe('deleteToken', () => {
  const pattern = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;
  const expiry = new Date('2025-06-09T06:00:00.000Z');

  test('deterministic per biome and expiry, and a valid CloudFormation token', () => {
    const token = deleteToken('alice', expiry);
    expect(token).toBe('sandpit-sweep-alice-20250609T060000000Z');
    expect(token).toMatch(pattern);
    expect(deleteToken('alice', expiry)).toBe(token);
    expect(deleteToken('bob', expiry)).not.toBe(token);
    expect(deleteToken('alice', new Date(expiry.getTime() + 1))).not.toBe(token);
  });

  test('a retry after DELETE_FAILED takes a new token each day', () => {
    const retry = deleteToken('alice', expiry, NOW);
    expect(retry).toBe('sandpit-sweep-alice-20250609T060000000Z-retry-20250610');
    expect(deleteToken('alice', expiry, new Date(NOW.getTime() + DAY_MS))).not.toBe(retry);
    const longest = deleteToken('a'.repeat(20), expiry, NOW);
    expect(longest).toMatch(pattern);
    expect(longest.length).toBeLessThanOrEqual(128);
  });
});

describe('noticeOf', () => {
  const expired = expiringIn(-DAY_MS);
  const decision = decide(expired, undefined, settings, NOW);

  test('every subject names the sandpit and stays under 100 characters', () => {
    const long = new EnvScope('a'.repeat(60), 'dev');
    const stack = sandpit({ biome: 'b'.repeat(20), stackName: `${'a'.repeat(60)}-dev-${'b'.repeat(20)}` });
    for (const action of ['notified', 'kept', 'expired', 'expiry-failed'] as const) {
      expect(noticeOf(action, expired, decision, scope).subject).toContain('biomes-dev-alice');
      expect(noticeOf(action, stack, decision, long).subject.length).toBeLessThan(100);
    }
  });

  test('the expiry notice says when and how to extend, keep or delete', () => {
    const soon = expiringIn(DAY_MS / 2);
    const { subject, message } = noticeOf('notified', soon, decide(soon, undefined, settings, NOW), scope);
    expect(subject).toBe('Sandpit biomes-dev-alice expires 2025-06-10T18:00:00.000Z');
    expect(message).toContain('expires at 2025-06-10T18:00:00.000Z');
    expect(message).toContain('cdk deploy -c biome=alice -c env=dev -c ttl=<days>');
    expect(message).toContain('cdk deploy -c biome=alice -c env=dev -c keep=true');
    expect(message).toContain('cdk destroy -c biome=alice -c env=dev');
    expect(message).toContain('the daily sweeper deletes it');
  });

  test('the default lifetime shows in the notice', () => {
    const stack = sandpit({ ttlTag: 'x' });
    const { message } = noticeOf('notified', stack, decide(stack, undefined, settings, NOW), scope);
    expect(message).toContain('ttl-days tag "x" must be a positive whole number of days');
  });

  test('kept, expired and failed notices say what happened and what to do', () => {
    expect(noticeOf('kept', expired, decision, scope).message).toMatch(
      /tagged keep=true, so the sweeper does not delete it[\s\S]*-c keep=false[\s\S]*cdk destroy -c biome=alice/,
    );
    expect(noticeOf('expired', expired, decision, scope).message).toMatch(
      /started deleting its stack biomes-dev-alice[\s\S]*cdk deploy -c biome=alice -c env=dev/,
    );
    const failed = noticeOf('expiry-failed', expired, decision, scope, 'Bucket1234 is not empty');
    expect(failed.message).toContain('Bucket1234 is not empty');
    expect(failed.message).toContain('once a day');
    expect(failed.message).toContain('cdk destroy -c biome=alice -c env=dev');
  });
});
