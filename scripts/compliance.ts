/**
 * `npm run compliance [-- --control-tower] [--verbose]`: synthesizes the whole app with the
 * placeholder config of cdk.json and prints the findings of cdk-nag's NIST 800-53 rev 5, HIPAA
 * Security and PCI DSS 3.2.1 packs per rule (lib/compliance/report.ts); --control-tower adds every
 * Control Tower finding per rule before acknowledgement (what the accepted exceptions cover). A report, not a gate: it exits 0 whatever it finds
 * (`cdk synth` runs the gates). --verbose lists the resources of each rule.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { buildApp } from '../lib/app';
import { ControlTowerChecks } from '../lib/common/control-tower';
import { findingsPerRule, formatReport, readValidationReport } from '../lib/compliance/report';
import { configFromContext } from '../lib/config';
import { REPO_ROOT } from '../lib/repo';

const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-compliance-'));
const app = new App({ context: cdkJson.context, outdir });
const { config, selection } = configFromContext((key) => app.node.tryGetContext(key) as unknown);
buildApp(app, config, selection);
const packs = [new NIST80053R5Checks(app), new HIPAASecurityChecks(app), new PCIDSS321Checks(app)];
Validations.of(app).addPlugins(...packs);
// aws-cdk-lib prints every violation to stderr as it fails the synth; the report below replaces that.
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = () => true;
try {
  app.synth();
} catch (e) {
  if (!String(e).includes('ValidationFailed')) throw e;
} finally {
  process.stderr.write = write;
}
const names = packs.map((p) => p.name);
const findings = findingsPerRule(readValidationReport(outdir), names);
console.log(formatReport(findings, names));
if (process.argv.includes('--control-tower')) {
  // Every Control Tower finding before acknowledgement (cdk synth gates on the unacknowledged ones,
  // which must be none): what the accepted exceptions cover, per rule.
  const templatePaths = fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => path.join(outdir, f));
  const report = new ControlTowerChecks({ cacheDir: false }).validate({
    templatePaths,
    stackTemplates: [],
    appConstruct: app,
  });
  const perRule = new Map<string, Set<string>>();
  for (const v of report.violations) {
    const resources = perRule.get(v.ruleName) ?? new Set<string>();
    for (const r of v.violatingResources) resources.add(`${r.templatePath}#${r.resourceLogicalId}`);
    perRule.set(v.ruleName, resources);
  }
  const total = [...perRule.values()].reduce((n, r) => n + r.size, 0);
  console.log(`Control Tower (before acknowledgement): ${perRule.size} rules, ${total} findings`);
  for (const [rule, resources] of [...perRule].sort((a, b) => b[1].size - a[1].size)) {
    console.log(`  ${String(resources.size).padStart(4)}  ${rule}`);
  }
  console.log('');
}
if (process.argv.includes('--verbose')) {
  for (const f of findings)
    console.log(`${f.pack} ${f.rule}\n${f.resources.map((r) => `  ${r}`).join('\n')}`);
}
fs.rmSync(outdir, { recursive: true, force: true });
