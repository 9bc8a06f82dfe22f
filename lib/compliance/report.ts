/**
 * The compliance report (`npm run compliance`): cdk-nag's NIST 800-53 rev 5, HIPAA Security and
 * PCI DSS 3.2.1 packs run on the whole app as a report, not as a gate. Biomes' gates are cdk-nag's
 * AwsSolutions and Serverless packs and Control Tower's proactive controls (lib/app.ts addChecks);
 * these three packs overlap with them and add rules an organisation audits against (backups, WAF,
 * VPC-only Lambdas...), some of which Biomes decides against (docs/design.md). The report lets a
 * platform team see, per rule, how many resources an audit would name before adopting Biomes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The part of aws-cdk-lib's validation-report.json the report reads. */
export interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly {
      readonly ruleName: string;
      readonly description: string;
      readonly violatingConstructs: readonly { readonly constructPath?: string }[];
    }[];
  }[];
}

export interface RuleFindings {
  readonly pack: string;
  readonly rule: string;
  readonly description: string;
  /** Construct paths, sorted, each once. */
  readonly resources: readonly string[];
}

/** Findings of `packs` in a validation report, per pack and rule, most resources first. */
export function findingsPerRule(report: ValidationReport, packs: readonly string[]): RuleFindings[] {
  const byRule = new Map<
    string,
    { pack: string; rule: string; description: string; resources: Set<string> }
  >();
  for (const plugin of report.pluginReports) {
    if (!packs.includes(plugin.pluginName)) continue;
    for (const v of plugin.violations) {
      const key = `${plugin.pluginName}\u0000${v.ruleName}`;
      const entry = byRule.get(key) ?? {
        pack: plugin.pluginName,
        rule: v.ruleName,
        description: v.description,
        resources: new Set<string>(),
      };
      for (const c of v.violatingConstructs) entry.resources.add(c.constructPath ?? '?');
      byRule.set(key, entry);
    }
  }
  return [...byRule.values()]
    .map((e) => ({ ...e, resources: [...e.resources].sort() }))
    .sort(
      (a, b) =>
        packs.indexOf(a.pack) - packs.indexOf(b.pack) ||
        b.resources.length - a.resources.length ||
        a.rule.localeCompare(b.rule),
    );
}

/** The report as text: one line per rule (`pack  rule  resources  description`), a total per pack. */
export function formatReport(findings: readonly RuleFindings[], packs: readonly string[]): string {
  const lines: string[] = [];
  for (const pack of packs) {
    const rules = findings.filter((f) => f.pack === pack);
    const total = rules.reduce((n, f) => n + f.resources.length, 0);
    lines.push(`${pack}: ${rules.length} rules, ${total} findings`);
    for (const f of rules) {
      // cdk-nag's descriptions end with the control ids: " - (Control IDs: ...)".
      const description = (f.description.split('\n')[0] ?? '').replace(/ - \(Control IDs?:.*$/, '').trim();
      lines.push(`  ${String(f.resources.length).padStart(4)}  ${f.rule.padEnd(40)}  ${description}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Reads `<outdir>/validation-report.json`, or an empty report when the synth found nothing. */
export function readValidationReport(outdir: string): ValidationReport {
  const file = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(file)) return { pluginReports: [] };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ValidationReport;
}
