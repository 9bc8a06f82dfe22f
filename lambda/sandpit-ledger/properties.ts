/**
 * The properties of `Custom::SandpitDeploy`: the biome stack's construct (lib/workload/biome/sandpit-record.ts)
 * writes them, the ledger recorder parses them, both from here. CloudFormation passes every property as a
 * string, so booleans are `"true"`/`"false"`, numbers are digits and the services map is a JSON string.
 */
import * as z from 'zod/mini';
import { SHA_PATTERN, artifactNameProblem } from '../shared/grammar';
import {
  biomeNameSchema,
  booleanPropertySchema,
  envNameSchema,
  issueLines,
  parseResourceProperties,
} from '../shared/issues';
import { ownerProblem } from '../shared/sandpit';

export const RESOURCE_TYPE = 'Custom::SandpitDeploy';

/** The commit property of a deploy made outside a Git tree. */
export const UNKNOWN_COMMIT = 'unknown';

export const PROPERTY = {
  app: 'App',
  env: 'Env',
  biome: 'Biome',
  /** The owner's email address (the stack's `owner` tag). */
  owner: 'Owner',
  /** Days the sandpit lives after this deploy, a whole number (the stack's `ttl-days` tag). */
  ttlDays: 'TtlDays',
  /** `true` or `false`: reported past its expiry, never deleted (the stack's `keep` tag). */
  keep: 'Keep',
  /** The working tree's commit (40 lowercase hex), or `unknown` outside a Git tree. */
  commit: 'Commit',
  /** `true` or `false`: the working tree had uncommitted changes. */
  dirty: 'Dirty',
  /**
   * JSON `{ "<service>": { "functionName": "...", "version": "<number>" } }`: the version alias `live` of
   * each service points at after this deploy. The versions are `Fn::GetAtt`s, so a code change changes the
   * property and CloudFormation sends an Update.
   */
  services: 'Services',
} as const;

/** Names of the values the recorder returns (`Fn::GetAtt` on the custom resource). */
export const ATTRIBUTE = {
  /** ISO time the sandpit expires: this deploy plus its lifetime. */
  expiresAt: 'ExpiresAt',
} as const;

/** What alias `live` of one service points at. */
export interface DeployedService {
  readonly functionName: string;
  /** A published version number, as text (`"7"`). */
  readonly version: string;
}

export interface SandpitDeployProperties {
  readonly app: string;
  readonly env: string;
  /** A valid biome name; `main` passes here and is refused by the recorder's fence. */
  readonly biome: string;
  readonly owner: string;
  readonly ttlDays: number;
  readonly keep: boolean;
  /** 40 lowercase hex, or {@link UNKNOWN_COMMIT}. */
  readonly commit: string;
  readonly dirty: boolean;
  readonly services: Readonly<Record<string, DeployedService>>;
}

const checked = (problem: (value: string) => string | undefined) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: 'custom', message });
    }),
  );

const servicesSchema = z
  .record(
    z.string(),
    z.object({
      functionName: z.string().check(z.minLength(1, 'must be the function name')),
      version: z.string().check(z.regex(/^[0-9]+$/, 'must be a published version number (not $LATEST)')),
    }),
  )
  .check(
    z.superRefine((services, ctx) => {
      for (const name of Object.keys(services)) {
        const problem = artifactNameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', message: `service ${problem}`, path: [name] });
      }
    }),
  );

/** The Services property: a JSON string of {@link servicesSchema}, parsed and checked in one step. */
const servicesProperty = checked((text) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'must be a JSON object { "<service>": { "functionName": "...", "version": "<number>" } }';
  }
  const result = servicesSchema.safeParse(parsed);
  return result.success ? undefined : issueLines(result.error, '(services)').join('; ');
});

export const propertiesSchema = z.object({
  [PROPERTY.app]: z.string().check(z.minLength(1, 'must be the app name (biomes.appName)')),
  [PROPERTY.env]: envNameSchema,
  [PROPERTY.biome]: biomeNameSchema,
  [PROPERTY.owner]: checked(ownerProblem),
  [PROPERTY.ttlDays]: z
    .string()
    .check(z.regex(/^[1-9][0-9]*$/, 'must be a positive whole number of days (e.g. "7")')),
  [PROPERTY.keep]: booleanPropertySchema('keep the sandpit past its expiry'),
  [PROPERTY.commit]: z
    .string()
    .check(
      z.refine(
        (c) => c === UNKNOWN_COMMIT || SHA_PATTERN.test(c),
        `must be the full 40-character lowercase commit id, or "${UNKNOWN_COMMIT}" outside a Git tree`,
      ),
    ),
  [PROPERTY.dirty]: booleanPropertySchema('the working tree had uncommitted changes'),
  [PROPERTY.services]: servicesProperty,
});

/** Parses the properties, or throws an error that names each bad property. */
export function parseProperties(raw: unknown): SandpitDeployProperties {
  const p = parseResourceProperties(propertiesSchema, raw, RESOURCE_TYPE);
  // Checked by the schema above: parsing again cannot fail.
  const services = servicesSchema.parse(JSON.parse(p[PROPERTY.services]));
  return {
    app: p[PROPERTY.app],
    env: p[PROPERTY.env],
    biome: p[PROPERTY.biome],
    owner: p[PROPERTY.owner],
    ttlDays: Number(p[PROPERTY.ttlDays]),
    keep: p[PROPERTY.keep] === 'true',
    commit: p[PROPERTY.commit],
    dirty: p[PROPERTY.dirty] === 'true',
    services,
  };
}
