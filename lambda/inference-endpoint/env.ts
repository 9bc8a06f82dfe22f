/**
 * Environment of the inference endpoint's owner: the construct (lib/workload/shared/inference-endpoint.ts)
 * sets these, the handler reads them through ./settings, so a rename is one edit. Pure: no AWS or CDK imports.
 */
export const INFERENCE_ENDPOINT_ENV = {
  appName: 'BIOMES_APP_NAME',
  envName: 'BIOMES_ENV_NAME',
  /** The deployment ledger: model deploys waiting for the endpoint (partition WAITING_PK). */
  ledgerTable: 'BIOMES_LEDGER_TABLE',
  /** Name (or ARN) of the deploy trigger, invoked with each waiting deploy once the endpoint is in service. */
  deployTrigger: 'BIOMES_DEPLOY_TRIGGER_FUNCTION',
  /** The schedule (JSON of InferenceSchedule) or {@link ALWAYS_AWAKE}, as the custom resource's Schedule property. */
  schedule: 'BIOMES_INFERENCE_SCHEDULE',
} as const;

/** The Schedule property and the schedule variable of an environment without a schedule: always awake. */
export const ALWAYS_AWAKE = 'none';
