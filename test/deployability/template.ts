/**
 * Helpers for reading synthesized CloudFormation templates the way the services that create the
 * resources read them (docs/deployability.md): references and dependencies, literal strings, and the
 * naming rules of the services, each with the page it comes from.
 */

export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, Resource>;
  readonly Parameters?: Record<string, { Type: string; Default?: string }>;
}

/** Resources of one type, by logical id. */
export function resourcesOf(template: CfnTemplate, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Logical ids a value references (Ref, Fn::GetAtt, ${X} in Fn::Sub), pseudo parameters excluded. */
export function referencesIn(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencesIn(v, into);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) into.add(v);
      else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(v) ? v[0] : String(v).split('.')[0];
        if (typeof target === 'string') into.add(target);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(v) ? v[0] : v;
        for (const m of String(text).matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)) into.add(m[1]!);
        if (Array.isArray(v)) referencesIn(v[1], into);
      } else referencesIn(v, into);
    }
  }
  return into;
}

function dependsOn(resource: Resource): string[] {
  const d = resource.DependsOn;
  return d === undefined ? [] : Array.isArray(d) ? d : [d];
}

/**
 * Every resource CloudFormation must have created before `id` (its DependsOn and references,
 * transitively): what exists when the create of `id` starts.
 */
export function createdBefore(template: CfnTemplate, id: string): Set<string> {
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const current = template.Resources[queue.pop()!];
    if (!current) continue;
    for (const next of [...dependsOn(current), ...referencesIn(current.Properties)]) {
      if (!seen.has(next) && template.Resources[next]) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

export interface Pseudo {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  readonly urlSuffix?: string;
}

/**
 * The literal string a value resolves to with only pseudo parameters known, or undefined when it
 * references a resource or parameter (known only at deploy time).
 */
export function literal(value: unknown, pseudo: Pseudo): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length !== 1) return undefined;
  const [key, v] = entries[0]!;
  if (key === 'Ref') {
    const known: Record<string, string | undefined> = {
      'AWS::AccountId': pseudo.account,
      'AWS::Region': pseudo.region,
      'AWS::Partition': pseudo.partition,
      'AWS::URLSuffix': pseudo.urlSuffix ?? 'amazonaws.com',
    };
    return typeof v === 'string' ? known[v] : undefined;
  }
  if (key === 'Fn::Join' && Array.isArray(v) && typeof v[0] === 'string' && Array.isArray(v[1])) {
    const parts = (v[1] as unknown[]).map((p) => literal(p, pseudo));
    return parts.every((p) => p !== undefined) ? parts.join(v[0]) : undefined;
  }
  return undefined;
}

/** IAM's `ArnLike` / `StringLike` match: `*` any run of characters, `?` one character. */
export function iamLike(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(value);
}

/** The statements of a policy document (one or many). */
export function statementsOf(document: unknown): Record<string, unknown>[] {
  const s = (document as { Statement?: unknown } | undefined)?.Statement;
  return (Array.isArray(s) ? s : s ? [s] : []) as Record<string, unknown>[];
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Why `id` is not a valid Aurora DB cluster identifier (RDS API CreateDBCluster, DBClusterIdentifier:
 * 1 to 63 letters, numbers, or hyphens; first character a letter; can't end with a hyphen or contain
 * two consecutive hyphens; stored lowercase).
 */
export function rdsClusterIdentifierProblem(id: string): string | undefined {
  if (id.length < 1 || id.length > 63) return `${id}: ${id.length} characters, not 1-63`;
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(id)) return `${id}: not a letter then letters, digits, hyphens`;
  if (id.endsWith('-')) return `${id}: ends with a hyphen`;
  if (id.includes('--')) return `${id}: contains two consecutive hyphens`;
  return undefined;
}

/**
 * Why `name` is not a valid S3 general purpose bucket name (S3 User Guide, "General purpose bucket
 * naming rules": https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 */
export function s3BucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `${name}: ${name.length} characters, not 3-63`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return `${name}: not lowercase letters, digits, dots, hyphens between a letter or digit`;
  if (name.includes('..')) return `${name}: two adjacent periods`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return `${name}: formatted as an IP address`;
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `${name}: starts with the reserved prefix ${prefix}`;
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `${name}: ends with the reserved suffix ${suffix}`;
  }
  return undefined;
}

/**
 * SageMaker's name pattern for endpoints, endpoint configurations, models and variants
 * (CreateEndpoint EndpointName: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`).
 */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
