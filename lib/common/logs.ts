/**
 * Log groups, the same way everywhere: kept for a retention CloudWatch Logs accepts, encrypted with
 * the account's logs key (a customer-managed KMS key, Control Tower CT.CLOUDWATCH.PR.3), destroyed
 * with their stack. One logs key per account and environment: the DevOps stack and each shared stack
 * own one ({@link LogsKey}); biome stacks use their environment's through the shared parameters.
 */
import { CfnResource, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LOG_RETENTION_DAYS } from '../config';
import { controlTowerRule } from './control-tower';

/**
 * The one conversion from configured days to CloudWatch Logs' retention. The config accepts only the
 * periods CloudWatch Logs accepts (lib/config.ts LOG_RETENTION_DAYS), so this never rounds: a value
 * outside that list is a bug and fails synth naming the key.
 */
export function logRetention(days: number): logs.RetentionDays {
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new Error(
      `logRetentionDays: ${days} is not a CloudWatch Logs retention period; use one of ${LOG_RETENTION_DAYS.join(', ')}.`,
    );
  }
  // RetentionDays is a numeric enum whose members are exactly these day counts (a test proves it).
  return days;
}

/** Control Tower's minimum retention (CT.CLOUDWATCH.PR.2): a year. */
export const CONTROL_TOWER_MIN_RETENTION_DAYS = 365;

/** How the log groups of a stack are kept and encrypted. */
export interface LogSettings {
  readonly retention: logs.RetentionDays;
  /** The account's logs key (a {@link LogsKey}, or the shared stack's, imported by a biome stack). */
  readonly key: kms.IKey;
  /**
   * Why this stack keeps logs for less than a year, if it does (an unprotected environment, whose logs
   * live and die with its stacks). Without it, a retention under a year fails the Control Tower check.
   * @default - no shorter retention is accepted
   */
  readonly shortRetentionReason?: string;
}

/** A log group as every Biomes construct makes it. */
export function newLogGroup(
  scope: Construct,
  id: string,
  settings: LogSettings,
  props: Pick<logs.LogGroupProps, 'logGroupName'> = {},
): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    ...props,
    retention: settings.retention,
    encryptionKey: settings.key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  if (Number(settings.retention) < CONTROL_TOWER_MIN_RETENTION_DAYS && settings.shortRetentionReason) {
    Validations.of(group).acknowledge({
      id: controlTowerRule('cloudwatch_log_group_retention_period_check'),
      reason: settings.shortRetentionReason,
    });
  }
  return group;
}

export interface LogsKeyProps {
  /** What the key is for (its description). */
  readonly description: string;
  /** @default RemovalPolicy.RETAIN: logs encrypted with it stay readable as long as they are kept */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The customer-managed key that encrypts every log group of an account and environment. CloudWatch
 * Logs encrypts and decrypts with it on the log groups' behalf; the key policy admits the regional
 * Logs service for this account's log groups only (CloudWatch Logs User Guide, "Encrypt log data in
 * CloudWatch Logs using AWS Key Management Service": the `kms:EncryptionContext:aws:logs:arn`
 * condition).
 */
export class LogsKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: LogsKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );
  }
}

/**
 * Log groups for aws-cdk-lib's singleton custom-resource providers (`Custom::S3AutoDeleteObjects`,
 * `Custom::VpcRestrictDefaultSG`, ...: `CustomResourceProvider`, a raw `AWS::Lambda::Function` with no
 * logging setting). Without one, Lambda creates `/aws/lambda/<function>` itself at the first invocation,
 * unencrypted and kept forever. Here the stack owns it, named after the function (`Fn::Join` of its
 * generated name), with the stack's retention and logs key; every custom resource of the provider's
 * type depends on it, so it exists before the function first runs (otherwise Lambda would create it
 * first and CloudFormation's create of the same name would fail) and is deleted after the last run.
 * Call at the end of a stack's constructor, once every provider exists.
 */
export function ownProviderLogGroups(stack: Stack, settings: LogSettings): void {
  const suffix = 'CustomResourceProvider';
  const all = stack.node.findAll();
  for (const provider of all.filter((c) => c.node.id.endsWith(suffix))) {
    const handler = provider.node.tryFindChild('Handler');
    if (!(handler instanceof CfnResource) || handler.cfnResourceType !== 'AWS::Lambda::Function') continue;
    const resourceType = provider.node.id.slice(0, -suffix.length);
    const group = newLogGroup(stack, `${provider.node.id.replace(/[^A-Za-z0-9]/g, '')}Logs`, settings, {
      logGroupName: Fn.join('', ['/aws/lambda/', handler.ref]),
    });
    for (const c of all) {
      if (c instanceof CfnResource && c.cfnResourceType === resourceType) c.node.addDependency(group);
    }
  }
}
