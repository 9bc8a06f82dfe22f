/** Environment of the sandpit sweeper: the construct (lib/workload/shared/sandpit-sweeper.ts) sets these, the handler reads them. */
export const SWEEPER_ENV = {
  appName: 'BIOMES_APP_NAME',
  envName: 'BIOMES_ENV_NAME',
  ledgerTable: 'BIOMES_LEDGER_TABLE',
  /** The owners topic: notices carry message attribute `biome` (OWNER_NOTICE_ATTRIBUTE). */
  ownersTopicArn: 'BIOMES_OWNERS_TOPIC_ARN',
  /** The sandpit execution role: DeleteStack passes it, so the delete can touch only what a sandpit may. */
  executionRoleArn: 'BIOMES_SANDPIT_EXECUTION_ROLE_ARN',
  /** Lifetime of a sandpit whose `ttl-days` tag is missing or unreadable (biomes.sandpits.defaultTtlDays). */
  defaultTtlDays: 'BIOMES_DEFAULT_TTL_DAYS',
} as const;
