/**
 * The naming grammar of docs/design.md ("Names and grammar"), shared by the CDK app (config validation,
 * packaging) and the Lambda handlers (artifact key parsing). Pure: no AWS or CDK imports, so it
 * costs nothing in a bundle.
 */

export const BIOME_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;
export const BIOME_MIN_LENGTH = 2;
export const BIOME_MAX_LENGTH = 20;
/** Names a sandpit may not take; `main` is each environment's mainline biome. */
export const RESERVED_BIOME_NAMES = [
  'main',
  'shared',
  'devops',
  'dev',
  'staging',
  'prod',
  'test',
  'default',
] as const;
export const MAINLINE_BIOME = 'main';

export const SHA_PATTERN = /^[0-9a-f]{40}$/;
/** A service or model name: the same alphabet as a biome, so it is safe in keys, paths and parameter names. */
export const ARTIFACT_NAME_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;
export const ARTIFACT_NAME_MAX_LENGTH = 40;

/**
 * Returns why `name` is not a valid biome name, or undefined when it is.
 * `allowMainline` admits `main` (each environment's mainline biome); every other reserved word is refused.
 */
export function biomeNameProblem(
  name: string,
  options: { allowMainline?: boolean } = {},
): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a biome name is required';
  if (name.length < BIOME_MIN_LENGTH || name.length > BIOME_MAX_LENGTH) {
    return `"${name}" must be ${BIOME_MIN_LENGTH}-${BIOME_MAX_LENGTH} characters long (it has ${name.length})`;
  }
  if (!BIOME_PATTERN.test(name)) {
    return `"${name}" must match ${BIOME_PATTERN.source}: lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen`;
  }
  if (name.includes('--')) return `"${name}" must not contain "--"`;
  // `<app>-<env>-main-*` and `<app>-<env>-shared-*` are the names IAM fences the sandpit deployer off.
  if (name.startsWith(`${MAINLINE_BIOME}-`) || name.startsWith('shared-')) {
    return `"${name}" must not start with "${MAINLINE_BIOME}-" or "shared-" (the sandpit deployer is fenced off names beginning <app>-<env>-${MAINLINE_BIOME}- and <app>-<env>-shared-)`;
  }
  if (name === MAINLINE_BIOME && options.allowMainline) return undefined;
  if ((RESERVED_BIOME_NAMES as readonly string[]).includes(name)) {
    return `"${name}" is reserved (${RESERVED_BIOME_NAMES.join(', ')}); pick another name for a sandpit`;
  }
  return undefined;
}

export function shaProblem(sha: string): string | undefined {
  if (SHA_PATTERN.test(sha)) return undefined;
  return `commit SHA "${sha}" must be the full 40-character lowercase hexadecimal commit id`;
}

export function artifactNameProblem(name: string): string | undefined {
  if (name.length > ARTIFACT_NAME_MAX_LENGTH) {
    return `name "${name}" is longer than ${ARTIFACT_NAME_MAX_LENGTH} characters`;
  }
  if (!ARTIFACT_NAME_PATTERN.test(name) || name.includes('--')) {
    return `name "${name}" must match ${ARTIFACT_NAME_PATTERN.source} without "--"`;
  }
  return undefined;
}

export type ArtifactKind = 'service' | 'model';

export const ARTIFACT_EXTENSIONS: Record<ArtifactKind, string> = { service: '.zip', model: '.tar.gz' };

export interface ArtifactKey {
  readonly biome: string;
  readonly name: string;
  readonly sha: string;
  readonly kind: ArtifactKind;
  /** The decoded key, `<biome>/<name>-<sha><ext>`. */
  readonly key: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The file name (no biome prefix) a build writes for one artifact. */
export function artifactFileName(kind: ArtifactKind, name: string, sha: string): string {
  return `${name}-${sha}${ARTIFACT_EXTENSIONS[kind]}`;
}

export function artifactKey(kind: ArtifactKind, biome: string, name: string, sha: string): string {
  return `${biome}/${artifactFileName(kind, name, sha)}`;
}

/**
 * Parses an already URL-decoded artifact key `<biome>/<name>-<sha>.zip|.tar.gz`. Never guesses:
 * anything off-grammar is refused with the reason.
 */
export function parseArtifactKey(key: string): ParseResult<ArtifactKey> {
  const slash = key.indexOf('/');
  if (slash < 0 || key.indexOf('/', slash + 1) >= 0) {
    return {
      ok: false,
      reason: `key "${key}" must be <biome>/<name>-<sha>.zip or <biome>/<name>-<sha>.tar.gz`,
    };
  }
  const biome = key.slice(0, slash);
  const file = key.slice(slash + 1);
  const biomeProblem = biomeNameProblem(biome, { allowMainline: true });
  if (biomeProblem) return { ok: false, reason: `key "${key}": biome ${biomeProblem}` };
  let kind: ArtifactKind;
  let stem: string;
  if (file.endsWith(ARTIFACT_EXTENSIONS.model)) {
    kind = 'model';
    stem = file.slice(0, -ARTIFACT_EXTENSIONS.model.length);
  } else if (file.endsWith(ARTIFACT_EXTENSIONS.service)) {
    kind = 'service';
    stem = file.slice(0, -ARTIFACT_EXTENSIONS.service.length);
  } else {
    return { ok: false, reason: `key "${key}" must end in .zip (microservice) or .tar.gz (model)` };
  }
  const dash = stem.lastIndexOf('-');
  if (dash < 0) return { ok: false, reason: `key "${key}" has no "-<sha>" after the name` };
  const name = stem.slice(0, dash);
  const sha = stem.slice(dash + 1);
  const nameProblem = artifactNameProblem(name);
  if (nameProblem) return { ok: false, reason: `key "${key}": ${nameProblem}` };
  const problem = shaProblem(sha);
  if (problem) return { ok: false, reason: `key "${key}": ${problem}` };
  return { ok: true, value: { biome, name, sha, kind, key } };
}

/** S3 event notifications URL-encode object keys, with `+` for a space. */
export function decodeS3EventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/**
 * Why `target` is not a canonical TargetModel of `biome`, or undefined when it is: exactly
 * `<biome>/<name>-<sha>.tar.gz` with the artifact grammar. The endpoint's IAM condition matches
 * TargetModel with a wildcard (`<biome>/...`), under which a path like `alice/../bob7/x.tar.gz` would
 * still match; nothing that is not canonical is ever sent to the endpoint.
 */
export function targetModelProblem(target: string, biome: string): string | undefined {
  const parsed = parseArtifactKey(target);
  if (!parsed.ok || parsed.value.kind !== 'model' || parsed.value.key !== target) {
    return `TargetModel "${target}" is not <biome>/<name>-<sha>.tar.gz${parsed.ok ? '' : ` (${parsed.reason})`}`;
  }
  if (parsed.value.biome !== biome)
    return `TargetModel "${target}" belongs to biome "${parsed.value.biome}", not "${biome}"`;
  return undefined;
}
