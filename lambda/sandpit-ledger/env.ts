/** Environment of the sandpit ledger recorder: the construct (lib/workload/shared/sandpit-ledger.ts) sets these, the handler reads them. */
export const RECORDER_ENV = {
  appName: 'BIOMES_APP_NAME',
  envName: 'BIOMES_ENV_NAME',
  ledgerTable: 'BIOMES_LEDGER_TABLE',
  /** The sandpit deployer role: a Lambda code change made by it outside CloudFormation is a hotswap. */
  deployerRoleArn: 'BIOMES_SANDPIT_DEPLOYER_ROLE_ARN',
} as const;
