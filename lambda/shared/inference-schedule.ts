/**
 * When an environment's multi-model endpoint is awake (issue 12 "Inference that sleeps when dev
 * does"): the schedule of `environments.<env>.inference.schedule`, the state the endpoint's owner
 * keeps in SSM, the message a caller gets while it sleeps, and the ledger items of model deploys
 * that wait for it. One module for the config (lib/config.ts), the endpoint's owner
 * (lambda/inference-endpoint/), the deploy trigger and the predict service. Pure: no AWS or CDK
 * imports; time zones through `Intl` (Node's full ICU).
 */
import * as z from 'zod/mini';
import { issueLines } from './issues';

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `environments.<env>.inference.schedule`: awake from `wake` to `sleep` on `days`, local time of `timeZone`. */
export const inferenceScheduleSchema = z
  .strictObject({
    /** An IANA time zone, e.g. `Europe/London` (daylight saving time is followed). */
    timeZone: z
      .string()
      .check(z.refine(validTimeZone, { error: 'must be an IANA time zone such as Europe/London or UTC' })),
    days: z.array(z.enum(WEEKDAYS)).check(z.minLength(1, { error: 'name at least one day (MON ... SUN)' })),
    /** `HH:MM`, 24-hour clock. */
    wake: z.string().check(z.regex(CLOCK, { error: 'must be a 24-hour time HH:MM, e.g. 07:00' })),
    sleep: z.string().check(z.regex(CLOCK, { error: 'must be a 24-hour time HH:MM, e.g. 19:00' })),
    /** How long `npm run wake` keeps it awake outside those hours. */
    manualWakeHours: z.number().check(
      z.refine((n) => Number.isInteger(n) && n >= 1 && n <= 24, {
        error: 'must be a whole number of hours, 1 to 24',
      }),
    ),
  })
  .check(
    z.refine((s) => s.wake < s.sleep, {
      error: 'wake must be before sleep on the same day (an awake period may not cross midnight)',
    }),
  );
export type InferenceSchedule = z.infer<typeof inferenceScheduleSchema>;

/** Dev and staging when the config names no schedule of their own: weekdays, office hours, UTC. */
export const DEFAULT_SCHEDULE: InferenceSchedule = {
  timeZone: 'UTC',
  days: ['MON', 'TUE', 'WED', 'THU', 'FRI'],
  wake: '07:00',
  sleep: '19:00',
  manualWakeHours: 2,
};

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: Weekday;
  /** Minutes since local midnight. */
  readonly minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function localTime(instant: Date, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(instant).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: String(parts.weekday).toUpperCase().slice(0, 3) as Weekday,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const clockMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * The instant at which the local clock of `timeZone` reads `minutes` on the given local date. In a
 * gap (the hour skipped when daylight saving time starts) it is the first instant after the gap.
 */
function instantOf(year: number, month: number, day: number, minutes: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, month - 1, day, 0, minutes);
  let guess = asUtc;
  for (let i = 0; i < 3; i++) {
    const seen = localTime(new Date(guess), timeZone);
    const seenAsUtc = Date.UTC(seen.year, seen.month - 1, seen.day, 0, seen.minutes);
    const drift = seenAsUtc - asUtc;
    if (drift === 0) return new Date(guess);
    guess -= drift;
  }
  return new Date(guess);
}

/** Whether the schedule has the endpoint awake at `now`. */
export function scheduledAwake(schedule: InferenceSchedule, now: Date): boolean {
  const local = localTime(now, schedule.timeZone);
  return (
    schedule.days.includes(local.weekday) &&
    local.minutes >= clockMinutes(schedule.wake) &&
    local.minutes < clockMinutes(schedule.sleep)
  );
}

/** The next scheduled `wake` (or `sleep`) time strictly after `now`. */
function nextScheduled(schedule: InferenceSchedule, now: Date, which: 'wake' | 'sleep'): Date {
  const at = clockMinutes(schedule[which]);
  const today = localTime(now, schedule.timeZone);
  for (let offset = 0; offset <= 8; offset++) {
    // Noon of the local day `offset` days on: never near a daylight-saving change.
    const noon = new Date(Date.UTC(today.year, today.month - 1, today.day + offset, 12));
    const day = localTime(
      instantOf(noon.getUTCFullYear(), noon.getUTCMonth() + 1, noon.getUTCDate(), 720, schedule.timeZone),
      schedule.timeZone,
    );
    if (!schedule.days.includes(day.weekday)) continue;
    const candidate = instantOf(day.year, day.month, day.day, at, schedule.timeZone);
    if (candidate.getTime() > now.getTime()) return candidate;
  }
  throw new Error(`inference schedule: no ${which} time within 8 days of ${now.toISOString()}`);
}

export const nextWake = (schedule: InferenceSchedule, now: Date) => nextScheduled(schedule, now, 'wake');
export const nextSleep = (schedule: InferenceSchedule, now: Date) => nextScheduled(schedule, now, 'sleep');

export interface Desired {
  readonly awake: boolean;
  /** Awake: when it goes to sleep next (absent for an environment without a schedule). */
  readonly until?: Date;
  /** Asleep: when it wakes next. */
  readonly wakesAt?: Date;
}

/**
 * Whether the endpoint should exist at `now`: always without a schedule; with one, inside its hours
 * or before `manualUntil` (a manual wake). A manual wake inside the hours changes nothing.
 */
export function desiredAt(schedule: InferenceSchedule | undefined, now: Date, manualUntil?: Date): Desired {
  if (!schedule) return { awake: true };
  const manual = manualUntil !== undefined && manualUntil.getTime() > now.getTime();
  if (scheduledAwake(schedule, now)) {
    const sleep = nextSleep(schedule, now);
    return { awake: true, until: manual && manualUntil.getTime() > sleep.getTime() ? manualUntil : sleep };
  }
  if (manual) return { awake: true, until: manualUntil };
  return { awake: false, wakesAt: nextWake(schedule, now) };
}

/** What a caller is told while the endpoint sleeps: when it wakes and how to wake it now. */
export function asleepMessage(envName: string, wakesAt: Date | string | undefined): string {
  const when = wakesAt === undefined ? 'its next scheduled wake' : new Date(wakesAt).toISOString();
  return `inference is asleep until ${when}; run \`npm run wake -- --env ${envName}\` to wake it`;
}

// ---- the state the endpoint's owner keeps (SSM `/<app>/<env>/shared/inference/state`) -----------

export const ENDPOINT_STATES = ['awake', 'waking', 'asleep', 'sleeping'] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

const isoSchema = z.string().check(
  z.refine((s) => !Number.isNaN(Date.parse(s)) && s.endsWith('Z'), {
    error: 'must be an ISO-8601 UTC time',
  }),
);

export const inferenceStateSchema = z.strictObject({
  /** What the endpoint is (or is becoming). */
  state: z.enum(ENDPOINT_STATES),
  /** Since when. */
  since: isoSchema,
  /** The endpoint configuration CloudFormation last asked for: a wake creates the endpoint with it. */
  endpointConfigName: z.string().check(z.minLength(1)),
  /** Asleep: the next scheduled wake. */
  wakesAt: z.optional(isoSchema),
  /** A manual wake (`npm run wake`): awake at least until then. */
  manualUntil: z.optional(isoSchema),
});
export type InferenceState = z.infer<typeof inferenceStateSchema>;

export function parseInferenceState(text: string): InferenceState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the inference state is not JSON: ${text.slice(0, 100)}`);
  }
  const parsed = inferenceStateSchema.safeParse(value);
  if (!parsed.success)
    throw new Error(`the inference state is malformed: ${issueLines(parsed.error).join('; ')}`);
  return parsed.data;
}

/** Whether a model can be validated now: only on an endpoint that is awake. */
export const servesModels = (s: InferenceState) => s.state === 'awake';

// ---- model deploys waiting for the endpoint (ledger items) -----------------------------------------

/**
 * Ledger items of model publications that arrived while the endpoint slept: partition
 * {@link WAITING_PK}, sort key {@link waitingSk} (one per biome and model: the newest publication).
 * The deploy trigger writes them; the endpoint's owner, once the endpoint is in service again,
 * delivers each to the deploy trigger as the `Object Created` event it was and deletes it.
 */
export const WAITING_PK = 'INFERENCE#WAITING';
export const waitingSk = (biome: string, model: string) => `${biome}#${model}`;

/** A waiting item's attributes besides `pk`/`sk`. */
export interface WaitingDeploy {
  readonly biome: string;
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly publishedAt: string;
  readonly waitingSince: string;
}

/**
 * Whether an InvokeEndpoint error says the endpoint does not exist (deleted while it sleeps):
 * SageMaker Runtime answers `ValidationError: Endpoint <name> of account <id> not found.`
 * (as reported verbatim in aws/amazon-sagemaker-examples issue #559 after a DeleteEndpoint).
 */
export function isEndpointMissing(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | undefined;
  return (
    e?.name === 'ValidationError' &&
    typeof e.message === 'string' &&
    /\bEndpoint \S+ of account \S+ not found\b/.test(e.message)
  );
}

/**
 * What a caller of a missing endpoint is told, from the state its owner keeps: asleep (until when,
 * how to wake it), waking (retry in minutes); undefined when the state says it should be there, so
 * the caller reports a fault instead.
 */
export function unavailableNotice(state: InferenceState | undefined, envName: string): string | undefined {
  if (!state || state.state === 'awake') return undefined;
  if (state.state === 'waking') {
    return `inference is waking up (since ${state.since}); an endpoint takes about 10 minutes to start, retry then`;
  }
  return asleepMessage(envName, state.wakesAt);
}
