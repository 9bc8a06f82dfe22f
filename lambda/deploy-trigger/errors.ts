/**
 * Which AWS errors retrying cannot fix, and what to do about each. They become a final `failed`
 * outcome with that guidance instead of three attempts and a dead-letter message that says nothing.
 * Throttling, 5xx, ResourceConflictException and timeouts are not listed: they stay retryable.
 */

import type { BiomeScope } from '../shared/scope';

/** The name of a thrown value (an SDK error's name is its exception type); `Error` when it has none. */
export function nameOf(e: unknown): string {
  return (e as Error | undefined)?.name ?? 'Error';
}

export function messageOf(e: unknown): string {
  return (e as Error | undefined)?.message ?? String(e);
}

/** The HTTP status an SDK error carries, if any. */
export function httpStatusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** The command that (re)deploys a biome's stack, for the reasons that tell the deployer to run it. */
export function biomeDeployCommand(scope: BiomeScope): string {
  return `cdk deploy -c biome=${scope.biome} -c env=${scope.env}`;
}

/** Denials from IAM, KMS or S3 (`Forbidden` is S3's name for a 403 without a body, as on HEAD). */
const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'Forbidden',
  'KMSAccessDeniedException',
]);

/** Any service: a denial is final; the reason names the fix. Undefined when the error may be transient. */
export function accessDeniedReason(e: unknown): string | undefined {
  if (!ACCESS_DENIED.has(nameOf(e))) return undefined;
  return `access denied (${nameOf(e)}: ${messageOf(e)}); retrying cannot fix it: fix the KMS key policy or the deploy trigger's role (lib/workload/shared/deploy-trigger.ts), then re-run the pipeline to publish again`;
}

/**
 * UpdateFunctionCode messages that say the package cannot be read, whatever the retry: S3 refused
 * access, or KMS denied the key, or the key is disabled, deleted or pending deletion.
 */
const PACKAGE_UNREADABLE = [
  /S3 Error Code:\s*(AccessDenied|AllAccessDisabled)\b/i,
  /KMS[\w .:-]{0,40}?(AccessDenied|Disabled|NotFound|InvalidState)/i,
  /\bAccessDeniedException\b/,
];
/** The S3 and KMS family of UpdateFunctionCode messages; what is not in the list above is transient. */
const S3_OR_KMS = /S3 Error Code|KMS/i;

export interface LambdaCall {
  /** The Lambda API action, e.g. `UpdateFunctionCode`. */
  readonly action: string;
  readonly functionName: string;
  readonly service: string;
  /** The biome (and environment) the service belongs to. */
  readonly scope: BiomeScope;
}

/**
 * Lambda errors that retrying cannot fix, with what to do. Undefined for anything else (throttling,
 * ServiceException, ResourceConflictException, ...), which stays retryable.
 */
export function lambdaFinalReason(e: unknown, call: LambdaCall): string | undefined {
  const name = nameOf(e);
  const message = messageOf(e);
  const what = `${call.action} of ${call.functionName} failed (${name}: ${message}); live unchanged; retrying cannot fix it`;
  const biome = call.scope.biome;
  switch (name) {
    case 'InvalidParameterValueException':
    case 'RequestTooLargeException':
      if (call.action !== 'UpdateFunctionCode') {
        return `${what}: check the registration of service "${call.service}" in biome "${biome}" and redeploy the biome (${biomeDeployCommand(call.scope)})`;
      }
      // Lambda reads the package with the caller's credentials and reports S3 and KMS errors this way.
      // Only denials and a key that cannot be used are final; SlowDown, InternalError, a KMS throttle...
      // are transient, so they stay retryable (and reach the dead-letter queue if they persist).
      if (PACKAGE_UNREADABLE.some((r) => r.test(message))) {
        return `${what}: Lambda could not read the package from the landing bucket; fix the KMS key policy or the deploy trigger's role, then re-run the pipeline to publish again`;
      }
      if (S3_OR_KMS.test(message)) return undefined;
      return `${what}: the package was refused; shrink the bundle (at most 250 MB unzipped, 50 MB zipped) or fix the zip, then publish a new commit`;
    case 'CodeStorageExceededException':
      return `${what}: the account's Lambda code storage is full; delete old versions of functions (every deploy publishes one) or ask for a higher quota, then re-run the pipeline to publish again`;
    case 'CodeVerificationFailedException':
    case 'InvalidCodeSignatureException':
      return `${what}: the package failed the function's code-signing check; sign it with the allowed signing profile and publish a new commit`;
    case 'ResourceNotFoundException':
      return `${what}: function ${call.functionName} registered for service "${call.service}" no longer exists, so biome "${biome}" was torn down or is being replaced; redeploy the biome (${biomeDeployCommand(call.scope)}), then re-run the pipeline to publish again`;
    default:
      return accessDeniedReason(e);
  }
}
