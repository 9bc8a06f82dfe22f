/**
 * Credentials of a workload role for the pipeline's long-running tools (scripts/verify-release.ts),
 * assumed again before they expire.
 *
 * CodeBuild's own credentials are a role session already, so assuming the workload role is role
 * chaining: STS caps the chained session at one hour (AssumeRole, DurationSeconds: "Role chaining
 * limits your AWS CLI or AWS API role session to a maximum of one hour"), while a verify step may wait
 * for the ledger for up to 36 hours (lib/config.ts releaseWaitMinutes). Static credentials from one
 * AssumeRole would fail every call after the first hour with ExpiredToken. The provider returns each
 * session's `expiration`: the SDK's clients call it again when that is less than 5 minutes away
 * (@smithy/core memoizeIdentityProvider with isIdentityExpired, EXPIRATION_MS 300000), and it assumes
 * the role again then; in between, all clients share one session.
 */
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';

export interface RoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Renew this long before a session ends, as the SDK does (5 minutes). */
export const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * A credential provider for the SDK's clients (`new SSMClient({ credentials })`): the role's current
 * session, assumed again when it has less than {@link RENEW_BEFORE_MS} left. An AssumeRole failure is
 * thrown to the caller of that request.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  roleArn: string,
  sessionName: string,
  now: () => number = Date.now,
): () => Promise<RoleCredentials> {
  let current: RoleCredentials | undefined;
  let pending: Promise<RoleCredentials> | undefined;
  const fresh = (c: RoleCredentials | undefined): c is RoleCredentials =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() - now() >= RENEW_BEFORE_MS);
  const assume = async (): Promise<RoleCredentials> => {
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  };
  return async () => {
    if (fresh(current)) return current;
    // Concurrent requests wait for the same AssumeRole.
    pending ??= assume().finally(() => {
      pending = undefined;
    });
    current = await pending;
    return current;
  };
}
