/**
 * The integration test of a release: the mainline workflow of an environment runs this fixed batch
 * after the deploy trigger put every artifact of the commit live (lib/devops/release/verify.ts).
 *
 * Dry run, in every environment: each sample carries `dryRun: true`, so ingest and predict plan their
 * inserts with `EXPLAIN` instead of running them (lambda/ingest/ingest.ts, lambda/predict/predict.ts):
 * PostgreSQL resolves every table, column and parameter type of the release's queries against the
 * migrated schema (a missing migration fails the test) and the live model answers through the
 * endpoint, yet no environment keeps test data. A plan does not run constraints or triggers: a
 * violation only an insert would meet is not found here. Marked samples that are deleted afterwards would
 * need a delete path in the services and a role allowed to use it, which production should not have.
 */

/** One row of the sample model's three features per sample; ids mark them as the release's own. */
export const INTEGRATION_BATCH = {
  samples: [
    { sampleId: 'release-verify-1', features: [42, 55000, 3], dryRun: true },
    { sampleId: 'release-verify-2', features: [23, 31000, 1], dryRun: true },
  ],
} as const;

/** What ingest answers for a dry-run sample (nothing stored). */
export const DRY_RUN_STATUS = 'dry-run';

interface Outcome {
  readonly sampleId?: unknown;
  readonly ingested?: unknown;
  readonly model?: unknown;
  readonly prediction?: unknown;
  readonly predictionId?: unknown;
}

/**
 * Why the workflow's output does not prove the release works, or [] when it does: every sample was
 * scored by `expectedModel` (the TargetModel the ledger says is live) and nothing was stored.
 */
export function integrationProblems(output: unknown, expectedModel: string): string[] {
  const outcomes = (output as { outcomes?: unknown } | null)?.outcomes;
  if (!Array.isArray(outcomes)) {
    return [`the workflow output has no "outcomes" list: ${JSON.stringify(output)?.slice(0, 300)}`];
  }
  if (outcomes.length !== INTEGRATION_BATCH.samples.length) {
    return [
      `the workflow returned ${outcomes.length} outcomes for ${INTEGRATION_BATCH.samples.length} samples`,
    ];
  }
  const problems: string[] = [];
  outcomes.forEach((raw: Outcome, i) => {
    const id = INTEGRATION_BATCH.samples[i]?.sampleId;
    if (raw.sampleId !== id) problems.push(`outcome ${i} is for sample ${String(raw.sampleId)}, not ${id}`);
    if (raw.model !== expectedModel) {
      problems.push(
        `sample ${id} was scored by model ${String(raw.model)}, but the ledger says ${expectedModel} is live`,
      );
    }
    if (typeof raw.prediction !== 'number' || raw.prediction < 0 || raw.prediction > 1) {
      problems.push(`sample ${id} got prediction ${String(raw.prediction)}, not a probability`);
    }
    if (raw.ingested !== DRY_RUN_STATUS) {
      problems.push(
        `sample ${id} was stored (ingested: ${String(raw.ingested)}): the dry run left data behind`,
      );
    }
    if (raw.predictionId !== null) {
      problems.push(
        `the prediction of sample ${id} was stored (predictionId ${JSON.stringify(raw.predictionId)}): the dry run left data behind`,
      );
    }
  });
  return problems;
}
