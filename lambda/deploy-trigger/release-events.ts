/**
 * The EventBridge events of canary releases that reach the deploy trigger, shared by its rules
 * (lib/workload/shared/deploy-trigger.ts) and its handlers (./canary, ./bake). Pure: no AWS or CDK imports.
 */

/** CodeDeploy's deployment event (EventBridge User Guide, "AWS CodeDeploy events"). */
export const DEPLOYMENT_STATE_CHANGE = 'CodeDeploy Deployment State-change Notification';
/** The states that end a deployment (the rule matches only these). */
export const ENDED_STATES = ['SUCCESS', 'FAILURE', 'STOP'] as const;
/** CloudWatch's alarm event (CloudWatch User Guide, "Alarm events and EventBridge"). */
export const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';
/** The input of the canary sweep's schedule (every 5 minutes where canaries run). */
export const SETTLE_CANARIES = { action: 'settle-canaries' } as const;
