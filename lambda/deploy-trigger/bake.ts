/**
 * The bake of `main`'s models where the environment releases by canary (README "When a release goes
 * wrong"): the validation on the endpoint guards the pointer move; after it, for the canary's
 * `bakeMinutes`, the errors alarms of the services that serve the model (lib/workload/biome/
 * service-canary.ts) watch it. An alarm that goes to ALARM during the bake (EventBridge "CloudWatch Alarm
 * State Change", CloudWatch User Guide "Alarm events and EventBridge") moves the pointer back to the
 * model it replaced and puts that model's live record back: ledger `rolled-back`, with the alarm's name.
 *
 * A bake is one ledger item per model (`BAKE#model#<name>`): the live record it replaced, the alarms,
 * until when. Nothing needs to end a bake on time: an alarm after `until`, or once a newer publication
 * is live, finds it over and deletes it. A model's first release has nothing to go back to: no bake.
 */
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as z from 'zod/mini';
import { issueLines } from '../shared/issues';
import type { ModelRegistration } from '../shared/contracts';
import { MAINLINE_BIOME } from '../shared/grammar';
import type { Budget } from './budget';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type EndOutcome, alarmStates } from './canary';
import { lock } from './lease';
import type { BakeRecord, Holder, Ledger, LiveRecord, Outcome } from './ledger';
import type { Deps } from './deploy';
import { Stop, optional } from './outcome';
import { ALARM_STATE_CHANGE } from './release-events';

/** The fields of a live record a bake keeps to restore it (not the table's keys or index attributes). */
export function restorable(live: LiveRecord): LiveRecord {
  const { sha, publishedAt, liveSince, key, deployedRef } = live;
  return {
    sha,
    publishedAt,
    liveSince,
    key,
    deployedRef,
    ...optional(live, 'previousSha', 'metrics', 'sbomKey', 'retrainedFrom', 'trainingData', 'trainingJob'),
  };
}

/**
 * Before a baked model's pointer moves: a Stop when one of its alarms is in ALARM (the bake could not
 * tell the new model's errors from those already there) or does not exist; undefined to go on.
 */
export async function refuseBake(
  cloudwatch: CloudWatchClient,
  bake: NonNullable<ModelRegistration['bake']>,
  model: string,
  previousSha: string | undefined,
  facts: { alarms?: readonly string[] },
): Promise<Stop | undefined> {
  const { firing, missing } = await alarmStates(cloudwatch, bake.alarms);
  if (missing.length > 0) {
    return Stop.failed(
      `the bake alarms ${missing.join(', ')} of model "${model}" do not exist; deploy the mainline stack, then re-run the pipeline to publish again; the model is copied, its pointer unchanged`,
      previousSha,
    );
  }
  if (firing.length > 0) {
    facts.alarms = firing;
    return Stop.failed(
      `alarm ${firing.join(', ')} is in ALARM before model "${model}" went live: its bake could not tell the new model's errors from those already there; pointer unchanged; find why it fires, then re-run the pipeline to publish again`,
      previousSha,
    );
  }
  return undefined;
}

const alarmEventSchema = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal(ALARM_STATE_CHANGE),
  time: z.string(),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: z.object({ value: z.string() }),
  }),
});

export function isAlarmEvent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'source' in raw && raw.source === 'aws.cloudwatch';
}

/** What the bake's rollback needs of the trigger's {@link Deps}, and how it records an outcome. */
export interface BakeDeps extends Pick<Deps, 'settings' | 'ssm' | 'now' | 'sleep' | 'logger'> {
  readonly finish: (o: EndOutcome) => Promise<Outcome>;
}

/**
 * An alarm went to ALARM: every model of `main` baking under it (its bake names the alarm, is not over,
 * and the baked publication is still live) goes back to the model it replaced. Returns the outcomes.
 */
export async function rollBackBakes(
  deps: BakeDeps,
  ledger: Ledger,
  budget: Budget,
  holder: Holder,
  raw: unknown,
): Promise<Outcome[]> {
  const parsed = alarmEventSchema.safeParse(raw);
  if (!parsed.success) {
    return [
      await deps.finish({
        status: 'rejected',
        key: '(alarm event)',
        reason: `not a CloudWatch alarm state-change event (${issueLines(parsed.error, '(event)').join('; ')}); only the bake rule should send these`,
      }),
    ];
  }
  const { detail, time } = parsed.data;
  if (detail.state.value !== 'ALARM') return [];
  const alarm = detail.alarmName;
  const firedAt = new Date(Date.parse(time) || deps.now().getTime()).toISOString();
  const outcomes: Outcome[] = [];
  for (const bake of await ledger.bakes(MAINLINE_BIOME)) {
    if (!bake.alarms.includes(alarm)) continue;
    const entry = ledger.target({ biome: MAINLINE_BIOME, kind: 'model', name: bake.name });
    await lock(deps, entry, budget, holder);
    try {
      const { live } = await entry.live();
      // Still live, or already put back by an attempt that died before recording it (the retry records it).
      const baking = live?.key === bake.key || live?.key === bake.previous.key;
      if (bake.until < firedAt || !baking) {
        // Over: baked long enough, or a newer publication is live (with its own bake, if any).
        await entry.endBake(bake.key, deps.now().toISOString());
        deps.logger.info('alarm after the bake ended; nothing rolled back', { model: bake.name, alarm });
        continue;
      }
      outcomes.push(await rollBack(deps, bake, alarm, entry));
    } finally {
      await entry.unlock(holder);
    }
  }
  return outcomes;
}

async function rollBack(
  deps: BakeDeps,
  bake: BakeRecord,
  alarm: string,
  entry: ReturnType<Ledger['target']>,
): Promise<Outcome> {
  const previous = bake.previous;
  const base = {
    biome: MAINLINE_BIOME,
    kind: 'model' as const,
    name: bake.name,
    key: bake.key,
    sha: bake.sha,
    previousSha: previous.sha,
    alarms: [alarm],
  };
  await deps.ssm.send(
    new PutParameterCommand({
      Name: bake.pointerParameter,
      Value: previous.deployedRef,
      Type: 'String',
      Overwrite: true,
    }),
  );
  await entry.restoreLive(previous, bake.key);
  const outcome = await deps.finish({
    ...base,
    status: 'rolled-back',
    deployedRef: previous.deployedRef,
    reason: `alarm ${alarm} fired during the bake of model "${bake.name}" (commit ${bake.sha}, baking until ${bake.until}): its pointer is back on ${previous.deployedRef} (commit ${previous.sha}), and that is the live record again`,
  });
  await entry.endBake(bake.key, deps.now().toISOString());
  return outcome;
}
