/**
 * Contracts between the accounts and stacks of Biomes (docs/design.md "Shared stack <-> biome stack
 * contract"). The DevOps publisher, the shared stack, the biome stacks and the deploy trigger all
 * import these names, so a rename is one edit; the names derived from app, environment and biome
 * are in ./scope. Pure: no AWS or CDK imports.
 */

/**
 * User metadata that the DevOps publish step sets on every release object (`x-amz-meta-<key>`).
 * S3 replication keeps user metadata, so the deploy trigger reads the same keys on the replica.
 */
export const ARTIFACT_METADATA = {
  commitSha: 'commit-sha',
  branch: 'branch',
  /**
   * ISO-8601 UTC start time of the pipeline execution that published the object (the same for every
   * object it publishes); decides order, so an older commit whose build finished later never wins. A
   * rollback is a new execution publishing an old SHA.
   */
  publishedAt: 'published-at',
  pipelineExecutionId: 'pipeline-execution-id',
  /**
   * Set only on a model retrained in its environment (the biome's train workflow): the commit whose
   * promoted training code made it. The object's own commit-sha is then the retraining id
   * (lambda/shared/model-archive.ts `retrainingId`), not a Git commit.
   */
  retrainedFrom: 'retrained-from',
  /** A retrained model: the S3 URI of the data it was trained on. */
  trainingData: 'training-data',
  /** A retrained model: the name of the SageMaker training job that made it. */
  trainingJob: 'training-job',
} as const;

/** The value of a model pointer before any model has been deployed. */
export const MODEL_POINTER_NONE = 'none';

/** The alias that serves traffic; the deploy trigger moves it, nothing else does. */
export const LIVE_ALIAS = 'live';

/** Registered by a biome for each microservice; read by the deploy trigger. */
export interface ServiceRegistration {
  /** Function name (CloudFormation-generated). */
  readonly functionName: string;
  /** Alias that serves traffic; always {@link LIVE_ALIAS}. */
  readonly alias: string;
  /** Payload the trigger invokes the new version with; the version passes when it returns `{ "ok": true }`. Absent: no smoke check. */
  readonly smokeCheck?: { readonly payload: Record<string, unknown> };
  /**
   * Present where the environment releases `main` by canary (lib/workload/biome/service-canary.ts):
   * the trigger starts a CodeDeploy deployment of the alias in this group instead of moving it, after
   * checking that none of `alarms` (the group's, on the alias's errors and throttles) is in ALARM.
   */
  readonly canary?: CanaryRegistration;
}

/** The CodeDeploy deployment group that shifts a service's alias `live`, and the alarms that stop it. */
export interface CanaryRegistration {
  readonly application: string;
  readonly deploymentGroup: string;
  readonly alarms: readonly string[];
  /** The share of traffic the new version gets during the bake, and the bake (minutes), for the ledger's reasons. */
  readonly percent: number;
  readonly bakeMinutes: number;
}

/** Registered by a biome for each model; read by the deploy trigger. */
export interface ModelRegistration {
  /** SSM parameter holding the biome's live TargetModel for this model. */
  readonly pointerParameter: string;
  /**
   * Present where the environment bakes `main`'s models: for `minutes` after the pointer moves, any of
   * `alarms` (the errors alarms of the services that serve the model) going to ALARM moves the pointer
   * back to the previous model (lambda/deploy-trigger/bake.ts).
   */
  readonly bake?: { readonly minutes: number; readonly alarms: readonly string[] };
}

/** The smoke-check event every microservice understands, and what it answers. */
export const SMOKE_EVENT = { smoke: true } as const;
export interface SmokeResult {
  readonly ok: boolean;
  readonly detail?: string;
}

/** Tags that put a resource in an app, environment and biome; IAM conditions rely on them. */
export const TAGS = {
  app: 'app',
  env: 'env',
  biome: 'biome',
  /** Set to `true` on Lambda functions the deploy trigger may update. */
  deployable: 'deployable',
  /** The commit whose code the function runs; the deploy trigger sets it. */
  commit: 'commit',
  /** Set to `true` on the model-pointer parameters the deploy trigger may overwrite. */
  modelPointer: 'model-pointer',
} as const;

/** How a release's SBOM key ends (lib/bundling/sbom.ts): the deploy trigger's rule never sends such an object. */
export const SBOM_SUFFIX = '.cdx.json';

/** `sbom-<sha>.cdx.json`: the software bill of materials of commit `sha`, published beside its artifacts. */
export function sbomFileName(sha: string): string {
  return `sbom-${sha}${SBOM_SUFFIX}`;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * A `published-at` value in one fixed format (so string order in the ledger's conditions is time
 * order), or undefined when it is not an ISO-8601 UTC time such as 2025-01-31T12:00:00Z.
 */
export function normalisedPublishedAt(raw: string | undefined): string | undefined {
  const time = raw && ISO_UTC.test(raw) ? Date.parse(raw) : NaN;
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** Where a commit's SBOM is under a biome's prefix, in the release and landing buckets alike. */
export function sbomKey(biome: string, sha: string): string {
  return `${biome}/${sbomFileName(sha)}`;
}
