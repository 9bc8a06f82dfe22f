/**
 * The one conversion from configured days to CloudWatch Logs' retention. The config accepts only the
 * periods CloudWatch Logs accepts (lib/config.ts LOG_RETENTION_DAYS), so this never rounds: a value
 * outside that list is a bug and fails synth naming the key.
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import { LOG_RETENTION_DAYS } from '../config';

export function logRetention(days: number): logs.RetentionDays {
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new Error(
      `logRetentionDays: ${days} is not a CloudWatch Logs retention period; use one of ${LOG_RETENTION_DAYS.join(', ')}.`,
    );
  }
  // RetentionDays is a numeric enum whose members are exactly these day counts (a test proves it),
  // so the checked number is one as it is.
  return days;
}
