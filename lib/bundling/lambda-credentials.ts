/**
 * Replaces `@aws-sdk/credential-provider-node` inside Lambda bundles (see `esbuildOptions`).
 *
 * Lambda hands every function its execution role's credentials as environment variables
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is the first link of the SDK's
 * default chain. The other links (SSO, ini files, process, web identity, container and instance
 * metadata) never answer inside Lambda but cost about 90 KB of every bundle, so a bundle keeps only
 * the environment link. Code run outside Lambda (tests, scripts) is not bundled and keeps the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type Init = Parameters<typeof fromEnv>[0];

export const defaultProvider = (init: Init = {}) => fromEnv(init);

export const credentialsWillNeedRefresh = (credentials?: { expiration?: Date }) =>
  credentials?.expiration !== undefined;

export const credentialsTreatedAsExpired = (credentials?: { expiration?: Date }) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
