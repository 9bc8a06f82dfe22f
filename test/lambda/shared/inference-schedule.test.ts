/** lambda/shared/inference-schedule.ts with a fake clock: every instant is given, none is read. */
import {
  asleepMessage,
  DEFAULT_SCHEDULE,
  desiredAt,
  type InferenceSchedule,
  inferenceScheduleSchema,
  nextSleep,
  nextWake,
  parseInferenceState,
  scheduledAwake,
} from '../../../lambda/shared/inference-schedule';
import { issueLines } from '../../../lambda/shared/issues';

const london: InferenceSchedule = { ...DEFAULT_SCHEDULE, timeZone: 'Europe/London' };
const at = (iso: string) => new Date(iso);

describe('awake hours in the configured time zone', () => {
  test.each([
    // Wednesday 2 December 2026 (GMT, UTC+0)
    ['2026-12-02T06:59:59Z', false],
    ['2026-12-02T07:00:00Z', true],
    ['2026-12-02T18:59:59Z', true],
    ['2026-12-02T19:00:00Z', false],
    // Saturday
    ['2026-12-05T12:00:00Z', false],
    // Monday 1 June 2026 (BST, UTC+1): 07:00 local is 06:00Z
    ['2026-06-01T05:59:00Z', false],
    ['2026-06-01T06:00:00Z', true],
    ['2026-06-01T17:59:00Z', true],
    ['2026-06-01T18:00:00Z', false],
  ])('%s: awake %s', (iso, awake) => {
    expect(scheduledAwake(london, at(iso))).toBe(awake);
  });

  test('another zone: 07:00 in New York is 12:00Z in winter', () => {
    const ny = { ...london, timeZone: 'America/New_York' };
    expect(scheduledAwake(ny, at('2026-12-02T11:59:00Z'))).toBe(false);
    expect(scheduledAwake(ny, at('2026-12-02T12:00:00Z'))).toBe(true);
  });
});

describe('next wake and sleep', () => {
  test.each([
    ['before hours: today', '2026-12-02T05:00:00Z', '2026-12-02T07:00:00.000Z'],
    ['during hours: tomorrow', '2026-12-02T10:00:00Z', '2026-12-03T07:00:00.000Z'],
    ['Friday evening: Monday', '2026-12-04T20:00:00Z', '2026-12-07T07:00:00.000Z'],
    ['across the change to summer time (29 March 2026)', '2026-03-27T20:00:00Z', '2026-03-30T06:00:00.000Z'],
    ['across the change back (25 October 2026)', '2026-10-23T20:00:00Z', '2026-10-26T07:00:00.000Z'],
  ])('%s', (_why, now, wake) => {
    expect(nextWake(london, at(now)).toISOString()).toBe(wake);
  });

  test('next sleep is today at 19:00 local during hours', () => {
    expect(nextSleep(london, at('2026-06-01T09:00:00Z')).toISOString()).toBe('2026-06-01T18:00:00.000Z');
  });
});

describe('desired state', () => {
  test('no schedule: always awake', () => {
    expect(desiredAt(undefined, at('2026-12-05T03:00:00Z'))).toEqual({ awake: true });
  });

  test('asleep says when it wakes', () => {
    expect(desiredAt(london, at('2026-12-05T03:00:00Z'))).toEqual({
      awake: false,
      wakesAt: at('2026-12-07T07:00:00Z'),
    });
  });

  test('a manual wake keeps it awake until then, outside hours only', () => {
    const now = at('2026-12-05T03:00:00Z');
    expect(desiredAt(london, now, at('2026-12-05T05:00:00Z'))).toEqual({
      awake: true,
      until: at('2026-12-05T05:00:00Z'),
    });
    // Expired: asleep again.
    expect(desiredAt(london, at('2026-12-05T05:00:01Z'), at('2026-12-05T05:00:00Z')).awake).toBe(false);
    // Inside hours: the later of the scheduled sleep and the manual wake.
    expect(desiredAt(london, at('2026-12-02T18:00:00Z'), at('2026-12-02T20:00:00Z')).until).toEqual(
      at('2026-12-02T20:00:00Z'),
    );
    expect(desiredAt(london, at('2026-12-02T09:00:00Z'), at('2026-12-02T10:00:00Z')).until).toEqual(
      at('2026-12-02T19:00:00Z'),
    );
  });

  test('the asleep message names the time and the command', () => {
    expect(asleepMessage('dev', at('2026-12-07T07:00:00Z'))).toBe(
      'inference is asleep until 2026-12-07T07:00:00.000Z; run `npm run wake -- --env dev` to wake it',
    );
  });
});

describe('bad config and state', () => {
  test.each([
    [{ timeZone: 'Mars/Olympus' }, /timeZone: must be an IANA time zone/],
    [{ wake: '7:00' }, /wake: must be a 24-hour time HH:MM/],
    [{ sleep: '24:00' }, /sleep: must be a 24-hour time HH:MM/],
    [{ wake: '19:00', sleep: '07:00' }, /wake must be before sleep/],
    [{ days: [] }, /name at least one day/],
    [{ days: ['MON', 'FUN'] }, /days/],
    [{ manualWakeHours: 0 }, /manualWakeHours: must be a whole number of hours, 1 to 24/],
  ])('%j', (change, message) => {
    const parsed = inferenceScheduleSchema.safeParse({ ...london, ...change });
    expect(parsed.success).toBe(false);
    expect(issueLines(parsed.error!).join('\n')).toMatch(message);
  });

  test('a malformed state parameter', () => {
    expect(() => parseInferenceState('nope')).toThrow(/not JSON/);
    expect(() =>
      parseInferenceState('{"state":"dozing","since":"2026-01-01T00:00:00Z","endpointConfigName":"c"}'),
    ).toThrow(/malformed: state/);
    expect(
      parseInferenceState(
        '{"state":"asleep","since":"2026-01-01T00:00:00Z","endpointConfigName":"c","wakesAt":"2026-01-02T07:00:00Z"}',
      ).wakesAt,
    ).toBe('2026-01-02T07:00:00Z');
  });
});
