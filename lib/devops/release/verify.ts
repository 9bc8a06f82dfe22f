/**
 * The verify step of a release (docs/design.md "Accounts and flow"): after an environment's publish,
 * wait until its ledger says every artifact of the commit is live in biome `main`, then run the
 * integration test (test/integration/mainline.ts) through the mainline workflow. Runs in the DevOps
 * account's verify project (scripts/verify-release.ts), with the environment's read-and-verify role.
 *
 * Pure orchestration: the ledger, the workflow, the clock and the sleep come in as arguments, so the
 * tests drive every ending (deployed, skipped as older, failed, rejected, superseded, timeout).
 */
import { type ArtifactKind, MAINLINE_BIOME } from '../../../lambda/shared/grammar';
import { EnvScope } from '../../../lambda/shared/scope';
import type { OutcomeStatus } from '../../../lambda/deploy-trigger/ledger-keys';

/** The variables the verify project sets for scripts/verify-release.ts. */
export const VERIFY_ENV = {
  env: 'VERIFY_ENV',
  roleArn: 'VERIFY_ROLE_ARN',
  app: 'APP_NAME',
  commitSha: 'COMMIT_SHA',
  timeoutMinutes: 'LEDGER_TIMEOUT_MINUTES',
  /**
   * The biome to wait for; default `main`. A sandpit's verify (the sandpit pipeline) waits for the
   * ledger only: the integration test runs the mainline workflow, which a sandpit's role may not start.
   */
  biome: 'VERIFY_BIOME',
} as const;

/** One artifact the release published: its manifest entry. */
export interface ReleaseArtifact {
  readonly kind: ArtifactKind;
  readonly name: string;
}

/** The live record of a name (the fields verify reads). */
export interface LiveView {
  readonly sha: string;
  readonly publishedAt: string;
  /** Service: the published version; model: the TargetModel. */
  readonly deployedRef: string;
}

/** One recorded outcome of an event for the release's commit (the fields verify reads). */
export interface OutcomeView {
  /** `waiting`: a model that waits for the environment's sleeping inference endpoint. */
  readonly status: OutcomeStatus;
  readonly reason: string;
  readonly recordedAt: string;
  /** A failure the deploy trigger retries (Lambda's retries, then the dead-letter queue). */
  readonly retrying?: boolean;
}

export interface LedgerReader {
  live(biome: string, kind: ArtifactKind, name: string): Promise<LiveView | undefined>;
  /** Outcomes recorded for `sha` of that name, oldest first. */
  outcomes(biome: string, kind: ArtifactKind, name: string, sha: string): Promise<OutcomeView[]>;
}

export type ExecutionStatus =
  'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface WorkflowRunner {
  /** Starts an execution; returns its ARN. */
  start(name: string, input: unknown): Promise<string>;
  describe(
    executionArn: string,
  ): Promise<{ status: ExecutionStatus; output?: string; error?: string; cause?: string }>;
}

export interface VerifyDeps {
  readonly ledger: LedgerReader;
  readonly workflow: WorkflowRunner;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (line: string) => void;
  /**
   * Wakes the environment's sleeping inference endpoint (its owner's `wake` action) and says until when;
   * called once, when a model of the release waits for it. Absent: the verify only waits.
   */
  readonly wakeInference?: () => Promise<string>;
}

export interface VerifyOptions {
  /** The environment being verified (messages). */
  readonly env: string;
  /** @default 'main' */
  readonly biome?: string;
  /** The release's commit. */
  readonly sha: string;
  /** Every artifact the release published (dist/manifest.json). */
  readonly artifacts: readonly ReleaseArtifact[];
  /** How long to wait for the ledger; replication without RTC usually lands within 15 minutes. */
  readonly timeoutMs: number;
  /** @default 15 s */
  readonly pollMs?: number;
}

/** A release that is not (yet) proven: the message says why and what to look at. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

const label = (a: ReleaseArtifact) => `${a.kind} ${a.name}`;

type State = { done: true; live: LiveView } | { done: false; why: string; waitsForInference?: boolean };

/** Where one artifact stands; throws VerifyError for an ending that waiting cannot change. */
async function stateOf(ledger: LedgerReader, biome: string, sha: string, a: ReleaseArtifact): Promise<State> {
  const live = await ledger.live(biome, a.kind, a.name);
  if (live?.sha === sha) return { done: true, live };
  const outcomes = await ledger.outcomes(biome, a.kind, a.name, sha);
  const last = outcomes[outcomes.length - 1];
  const superseded = `A newer release superseded this one; nothing was moved back, and the newer release's own verify proves it`;
  switch (last?.status) {
    case 'rejected':
      throw new VerifyError(`${label(a)} of ${sha} was rejected by the deploy trigger: ${last.reason}`);
    case 'skipped':
      throw new VerifyError(
        `${label(a)} of ${sha} was skipped by the deploy trigger: ${last.reason}. ${superseded}`,
      );
    case 'deployed':
      throw new VerifyError(
        `${label(a)} of ${sha} was live, but ${live?.sha ?? 'another commit'} is live now. ${superseded}`,
      );
    case 'waiting':
      // Not an ending: the endpoint's owner (a model), or the end of a running canary (a service),
      // delivers it again.
      return { done: false, why: `${label(a)}: ${last.reason}`, waitsForInference: a.kind === 'model' };
    case 'canary':
      // Not an ending: CodeDeploy's end of the canary records deployed or rolled-back.
      return { done: false, why: `${label(a)}: ${last.reason}` };
    case 'rolled-back':
      throw new VerifyError(
        `${label(a)} of ${sha} was rolled back: ${last.reason}. What ran before is live again; fix the cause and push a new commit`,
      );
    case 'failed':
      if (!last.retrying) throw new VerifyError(`${label(a)} of ${sha} failed to deploy: ${last.reason}`);
      return { done: false, why: `${label(a)}: the deploy trigger retries after "${last.reason}"` };
    default:
      return {
        done: false,
        why: live
          ? `${label(a)}: ${live.sha} is live, ${sha} not delivered yet`
          : `${label(a)}: not delivered yet`,
      };
  }
}

/**
 * Waits until every artifact of the commit is live in the biome; returns what is live, by
 * `<kind>:<name>`. Throws {@link VerifyError} on a rejection, a final failure, a skip (an older
 * publication than what is live: superseded) or the timeout.
 */
export async function waitUntilLive(
  deps: VerifyDeps,
  options: VerifyOptions,
): Promise<Map<string, LiveView>> {
  const biome = options.biome ?? 'main';
  const pollMs = options.pollMs ?? 15_000;
  const deadline = deps.now() + options.timeoutMs;
  const live = new Map<string, LiveView>();
  if (options.artifacts.length === 0)
    throw new VerifyError('the release manifest lists no artifact; nothing to verify');
  let woken = false;
  for (;;) {
    const waiting: string[] = [];
    let inferenceAsleep = false;
    for (const a of options.artifacts) {
      const key = `${a.kind}:${a.name}`;
      if (live.has(key)) continue;
      const state = await stateOf(deps.ledger, biome, options.sha, a);
      if (state.done) {
        live.set(key, state.live);
        deps.log(
          `${options.env}/${biome}: ${label(a)} is live at ${options.sha} (${state.live.deployedRef})`,
        );
      } else {
        waiting.push(state.why);
        inferenceAsleep ||= state.waitsForInference === true;
      }
    }
    if (waiting.length === 0) return live;
    if (inferenceAsleep && !woken && deps.wakeInference) {
      // A release proves itself now, not at the next scheduled wake: wake the endpoint (for the
      // schedule's manualWakeHours) and keep waiting for the model to be validated and put live.
      woken = true;
      deps.log(
        `${options.env}/${biome}: a model waits for the inference endpoint; waking it: ${await deps.wakeInference()}`,
      );
    }
    if (deps.now() + pollMs > deadline) {
      throw new VerifyError(
        `timed out after ${Math.round(options.timeoutMs / 60_000)} minutes waiting for the ledger of ${options.env}: ${waiting.join('; ')}. ` +
          'Replication without Replication Time Control usually completes within 15 minutes but can take hours; ' +
          `check the release bucket's replication metrics and the deploy trigger's dead-letter queue in ${options.env}, then retry this stage.`,
      );
    }
    deps.log(`${options.env}/${biome}: waiting (${waiting.join('; ')})`);
    await deps.sleep(pollMs);
  }
}

export interface IntegrationOptions {
  readonly env: string;
  readonly sha: string;
  /** The workflow input. */
  readonly batch: unknown;
  /** Why the output does not prove the release, given the TargetModel the ledger says is live. */
  readonly problems: (output: unknown, expectedModel: string) => string[];
  /** The TargetModel the ledger says is live for the model the workflow scores with. */
  readonly expectedModel: string;
  /** @default 10 minutes */
  readonly timeoutMs?: number;
  /** @default 5 s */
  readonly pollMs?: number;
}

/** Runs the integration batch through the workflow and checks what it answered. */
export async function runIntegrationTest(deps: VerifyDeps, options: IntegrationOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 5_000;
  // Execution names are unique per state machine for 90 days; the commit and the time make it so.
  const name = `release-verify-${options.sha.slice(0, 12)}-${deps.now()}`;
  const arn = await deps.workflow.start(name, options.batch);
  deps.log(`${options.env}: integration test started (${arn})`);
  const deadline = deps.now() + timeoutMs;
  for (;;) {
    const d = await deps.workflow.describe(arn);
    if (d.status === 'SUCCEEDED') {
      let output: unknown;
      try {
        output = JSON.parse(d.output ?? 'null');
      } catch {
        throw new VerifyError(`the integration test's execution ${arn} returned output that is not JSON`);
      }
      const problems = options.problems(output, options.expectedModel);
      if (problems.length > 0) {
        throw new VerifyError(
          `the integration test in ${options.env} failed its checks:\n  - ${problems.join('\n  - ')}`,
        );
      }
      deps.log(`${options.env}: integration test passed (${arn})`);
      return;
    }
    if (d.status !== 'RUNNING') {
      throw new VerifyError(
        `the integration test's execution ${arn} ended ${d.status}: ${d.error ?? ''} ${d.cause ?? ''}`.trim() +
          '; open the execution in the Step Functions console of the workload account for the failed state',
      );
    }
    if (deps.now() + pollMs > deadline) {
      throw new VerifyError(
        `the integration test's execution ${arn} was still running after ${Math.round(timeoutMs / 60_000)} minutes`,
      );
    }
    await deps.sleep(pollMs);
  }
}

/**
 * Explains a denied or missing role, parameter or table as the fix, not a stack trace: the verify
 * role is created by the environment's `main` stack and trusts the DevOps verify project's role.
 */
export function explainAccessError(
  e: unknown,
  what: string,
  roleArn: string,
  env: string,
  app: string,
): Error {
  const name = e instanceof Error ? e.name : '';
  if (
    ['AccessDenied', 'AccessDeniedException', 'ParameterNotFound', 'ResourceNotFoundException'].includes(name)
  ) {
    const mainline = new EnvScope(app, env).biome(MAINLINE_BIOME).stackName;
    return new VerifyError(
      `cannot ${what} with ${roleArn} (${name}: ${(e as Error).message}). The role is created by the mainline stack of ${env}: ` +
        `let this release's Infrastructure stage deploy ${mainline} (or run \`npx cdk deploy -e ${mainline}\` with the workload account's bootstrap trust, \`cdk bootstrap --trust <devops>\`), ` +
        `and check that the role trusts the DevOps verify project's role.`,
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}
