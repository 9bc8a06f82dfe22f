/**
 * Software composition analysis of the build (issue 13 item 4): `npm run audit` (scripts/audit.ts) runs
 * `npm audit --omit=dev --json` and fails on any advisory of severity high or critical that the
 * allow-list (`audit-allowlist.json` at the repository root) does not accept. An allow-list entry names
 * one advisory (its GitHub advisory id, `GHSA-...`), the package, why it is accepted and until when
 * (`expires`, a date): an expired entry fails the build too, so an exception is revisited, never
 * forgotten. A build step (it needs the registry), not part of `npm test`.
 *
 * npm's report (`npm audit --json`, auditReportVersion 2): `vulnerabilities.<package>.via` holds the
 * advisories of that package (objects with `source`, `title`, `url` ending in the GHSA id, `severity`)
 * and the names of the packages it is vulnerable through (strings), which are entries of their own.
 */
import * as z from 'zod';

export const AUDIT_LEVELS = ['high', 'critical'] as const;

export const allowlistSchema = z.array(
  z.strictObject({
    id: z
      .string()
      .regex(/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/, 'must be a GitHub advisory id, GHSA-xxxx-xxxx-xxxx'),
    package: z.string().min(1),
    reason: z.string().min(20, 'say why it is accepted (at least 20 characters)'),
    expires: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
  }),
);
export type Allowlist = z.infer<typeof allowlistSchema>;

const advisorySchema = z.object({
  source: z.union([z.number(), z.string()]).optional(),
  name: z.string().optional(),
  title: z.string().optional(),
  url: z.string().optional(),
  severity: z.string(),
});
const reportSchema = z.object({
  auditReportVersion: z.literal(2),
  vulnerabilities: z.record(
    z.string(),
    z.object({ name: z.string(), severity: z.string(), via: z.array(z.union([z.string(), advisorySchema])) }),
  ),
});

export interface Finding {
  readonly package: string;
  readonly id: string;
  readonly severity: string;
  readonly title: string;
  readonly url: string;
}

export interface AuditResult {
  /** High or critical advisories the allow-list does not accept: the build fails. */
  readonly refused: readonly Finding[];
  /** Accepted by an unexpired entry. */
  readonly accepted: readonly (Finding & { readonly reason: string; readonly expires: string })[];
  /** Entries past their date: the build fails until they are renewed or removed. */
  readonly expired: Allowlist;
}

/** Parses the allow-list file's JSON, or throws naming the entry and the rule. */
export function parseAllowlist(value: unknown, file = 'audit-allowlist.json'): Allowlist {
  const parsed = allowlistSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${file}[${i.path.join('.')}]: ${i.message}`);
    throw new Error(
      `${problems.join('; ')}. Each entry is {"id": "GHSA-...", "package": "...", "reason": "...", "expires": "YYYY-MM-DD"}.`,
    );
  }
  return parsed.data;
}

const ghsaOf = (url: string | undefined) => /GHSA(-[0-9a-z]{4}){3}/i.exec(url ?? '')?.[0] ?? '';

/** What the build does with npm's report at `now` (a date: an entry expires at the end of its day, UTC). */
export function evaluateAudit(report: unknown, allowlist: Allowlist, now: Date): AuditResult {
  const parsed = reportSchema.safeParse(report);
  if (!parsed.success) {
    const endpoint = (report as { message?: unknown } | undefined)?.message;
    if (typeof endpoint === 'string') {
      throw new Error(
        `npm audit could not ask the registry (${endpoint}); the build needs a registry with the audit endpoint (registry.npmjs.org has it), so nothing was packaged or published`,
      );
    }
    throw new Error(
      `npm audit --json did not give an audit report (auditReportVersion 2): ${parsed.error.issues[0]?.message ?? 'unknown shape'}; is npm 7 or newer installed, and is the registry reachable?`,
    );
  }
  const today = now.toISOString().slice(0, 10);
  const live = allowlist.filter((e) => e.expires >= today);
  const expired = allowlist.filter((e) => e.expires < today);
  const refused: Finding[] = [];
  const accepted: (Finding & { reason: string; expires: string })[] = [];
  for (const vulnerability of Object.values(parsed.data.vulnerabilities)) {
    for (const via of vulnerability.via) {
      if (typeof via === 'string') continue; // through another package: that one's entry has the advisory
      if (!(AUDIT_LEVELS as readonly string[]).includes(via.severity)) continue;
      const finding: Finding = {
        package: vulnerability.name,
        id: ghsaOf(via.url) || String(via.source ?? 'unknown'),
        severity: via.severity,
        title: via.title ?? '',
        url: via.url ?? '',
      };
      const entry = live.find(
        (e) => e.id.toLowerCase() === finding.id.toLowerCase() && e.package === finding.package,
      );
      if (entry) accepted.push({ ...finding, reason: entry.reason, expires: entry.expires });
      else refused.push(finding);
    }
  }
  return { refused, accepted, expired };
}

/** The lines the build prints; `ok` says whether it passes. */
export function describeAudit(result: AuditResult): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  for (const f of result.refused) {
    lines.push(
      `REFUSED ${f.severity} ${f.id} in ${f.package}: ${f.title} (${f.url}): upgrade it (npm audit fix, or a newer direct dependency), or accept it in audit-allowlist.json with a reason and an expiry date`,
    );
  }
  for (const e of result.expired) {
    lines.push(
      `EXPIRED allow-list entry ${e.id} (${e.package}) expired on ${e.expires}: fix the advisory, or renew the entry with a new date and a reason that still holds`,
    );
  }
  for (const f of result.accepted) {
    lines.push(`accepted ${f.severity} ${f.id} in ${f.package} until ${f.expires}: ${f.reason}`);
  }
  const ok = result.refused.length === 0 && result.expired.length === 0;
  lines.push(
    ok
      ? `npm audit: no unaccepted advisory of severity ${AUDIT_LEVELS.join(' or ')} in the production dependencies`
      : 'npm audit: the build stops here; nothing was packaged or published',
  );
  return { ok, lines };
}
