/**
 * ControlTowerChecks runs each Control Tower rule on the resources of the types it names only
 * (lib/common/control-tower.ts): it must find exactly what the plugin finds on whole templates.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, type IPolicyValidationContext, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ControlTowerChecks, ruleTypes } from '../../lib/common/control-tower';
import { featureFlags } from '../fixtures/config';

/** Two templates with compliant and non-compliant resources of several types, cross-referencing. */
function fixtureTemplates(): IPolicyValidationContext {
  const app = new App({ context: featureFlags(), outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'ct-')) });
  const a = new Stack(app, 'A', { env: { account: '222222222222', region: 'eu-west-1' } });
  const key = new kms.Key(a, 'Key', { enableKeyRotation: true });
  new logs.LogGroup(a, 'Encrypted', { encryptionKey: key, retention: logs.RetentionDays.ONE_YEAR });
  new logs.LogGroup(a, 'Plain', { retention: logs.RetentionDays.ONE_WEEK });
  new s3.Bucket(a, 'Bucket');
  new sqs.Queue(a, 'Queue', { retentionPeriod: Duration.days(1) });
  const fn = new lambda.Function(a, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => 1;'),
  });
  // A permission whose SourceArn is a GetAtt of a rule (CT.LAMBDA.PR.2 checks such references).
  new events.Rule(a, 'Rule', { schedule: events.Schedule.rate(Duration.hours(1)) }).addTarget(
    new targets.LambdaFunction(fn),
  );
  fn.addPermission('Public', { principal: new iam.AnyPrincipal() });
  const b = new Stack(app, 'B', { env: { account: '222222222222', region: 'eu-west-1' } });
  new s3.Bucket(b, 'Versioned', { versioned: true, encryption: s3.BucketEncryption.KMS, enforceSSL: true });
  const assembly = app.synth();
  const stackTemplates = assembly.stacks.map((s) => ({
    stackConstructPath: s.hierarchicalId,
    templatePath: path.join(assembly.directory, s.templateFile),
    accountId: '222222222222',
    region: 'eu-west-1',
  }));
  return { templatePaths: stackTemplates.map((s) => s.templatePath), stackTemplates, appConstruct: app };
}

function findings(checks: ControlTowerChecks, context: IPolicyValidationContext): string[] {
  return checks
    .validate(context)
    .violations.flatMap((v) =>
      v.violatingResources.map(
        (r) => `${v.ruleName} ${path.basename(r.templatePath ?? '?')} ${r.resourceLogicalId} ${v.severity}`,
      ),
    )
    .sort();
}

test('grouped by resource type, the rules find exactly what they find on whole templates', () => {
  const templates = fixtureTemplates();
  const grouped = findings(new ControlTowerChecks({ cacheDir: false }), templates);
  const whole = findings(new ControlTowerChecks({ wholeTemplates: true, cacheDir: false }), templates);
  expect(grouped).toEqual(whole);
  // In worker threads or in this one, the same findings.
  expect(findings(new ControlTowerChecks({ cacheDir: false, parallelism: 1 }), templates)).toEqual(whole);
  // Not vacuous: several rules and both templates, including the cross-referencing Lambda rule.
  expect(new Set(grouped.map((f) => f.split(' ')[0])).size).toBeGreaterThanOrEqual(5);
  expect(
    grouped.some((f) => f.startsWith('lambda_function_public_access_prohibited_check A.template.json')),
  ).toBe(true);
  expect(grouped.some((f) => f.includes(' B.template.json '))).toBe(true);
  expect(grouped.every((f) => f.endsWith(' error'))).toBe(true);
}, 120_000);

test('a rule sees every type its file names, in any spelling', () => {
  expect(
    ruleTypes(`let a = Resources.*[ Type == 'AWS::AutoScaling::AutoScalingGroup' ]
# AWS::Autoscaling::AutoscalingGroup
let k = "AWS::KMS::Key"`),
  ).toEqual(['aws::autoscaling::autoscalinggroup', 'aws::kms::key']);
});

test('cached findings: an unchanged template runs no cfn-guard, a changed one runs it again', () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cache-'));
  const context = fixtureTemplates();
  const first = new ControlTowerChecks({ cacheDir });
  const expected = findings(first, context);
  expect(first.guardCalls).toBeGreaterThan(0);
  // Same templates at other paths (a new synth): every finding from the cache, at the new paths.
  const again = new ControlTowerChecks({ cacheDir });
  expect(findings(again, fixtureTemplates())).toEqual(expected);
  expect(again.guardCalls).toBe(0);
  // One template changed: only the groups whose reduced template changed run again.
  const [a] = context.templatePaths;
  const body = JSON.parse(fs.readFileSync(a!, 'utf8')) as { Resources: Record<string, unknown> };
  body.Resources.Extra = { Type: 'AWS::S3::Bucket', Properties: {} };
  fs.writeFileSync(a!, JSON.stringify(body));
  const changed = new ControlTowerChecks({ cacheDir });
  const after = findings(changed, context);
  expect(changed.guardCalls).toBeGreaterThan(0);
  expect(after.filter((f) => f.includes(' Extra '))).not.toEqual([]);
  expect(after).toEqual(findings(new ControlTowerChecks({ cacheDir: false }), context));
}, 120_000);
