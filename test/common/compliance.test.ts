/**
 * The synth checks (cdk-nag AwsSolutions and Serverless, Control Tower's cfn-guard rules) are fatal and
 * catch a non-compliant resource; the baseline every resource gets (lib/common/compliance.ts).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { addChecks, buildApp } from '../../lib/app';
import {
  ACCEPTED_EXCEPTIONS,
  applyCompliance,
  DENY_GRANTS_NOT_FOR_AWS_RESOURCES,
} from '../../lib/common/compliance';
import { controlTowerRule } from '../../lib/common/control-tower';
import { featureFlags, testApp, testConfig } from '../fixtures/config';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Synthesizes an app with every check registered; returns the failure's message ('' when it passed). */
function synthWithChecks(build: (stack: Stack) => void): string {
  const app = new App({ context: featureFlags() });
  applyCompliance(app);
  build(new Stack(app, 'Fixture', { env: { account: '222222222222', region: 'eu-west-1' } }));
  addChecks(app);
  try {
    app.synth();
    return '';
  } catch (e) {
    return String(e);
  }
}

describe('the Control Tower rules run on every synth, fatal', () => {
  test('a log group without a KMS key fails synth with CT.CLOUDWATCH.PR.3', () => {
    const message = synthWithChecks((stack) => {
      new logs.LogGroup(stack, 'Plain', { retention: logs.RetentionDays.ONE_YEAR });
    });
    expect(message).toMatch(/ValidationFailed/);
    expect(message).toMatch(/\[CT\.CLOUDWATCH\.PR\.3\].*\n.*Fixture\/Plain\/Resource/);
    expect(message).toMatch(
      /Acknowledge with 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check'/,
    );
  });

  test('acknowledging one violation does not let the others pass', () => {
    const message = synthWithChecks((stack) => {
      const short = new logs.LogGroup(stack, 'Short', { retention: logs.RetentionDays.ONE_WEEK });
      Validations.of(short).acknowledge({
        id: controlTowerRule('cloudwatch_log_group_retention_period_check'),
        reason: 'test: one acknowledged finding',
      });
    });
    // The encryption finding of the same group still fails synth (the plugin reports no severity; ours does).
    expect(message).toMatch(/\[CT\.CLOUDWATCH\.PR\.3\]/);
    expect(message).not.toMatch(/\[CT\.CLOUDWATCH\.PR\.2\]/);
  });

  test('a compliant resource passes all three checks', () => {
    expect(
      synthWithChecks((stack) => {
        const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
        new logs.LogGroup(stack, 'Encrypted', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key });
      }),
    ).toBe('');
  });
});

test("the Serverless pack runs too: a function without tracing is reported (cdk-nag's Serverless-LambdaTracing)", () => {
  const app = new App({ context: featureFlags() });
  applyCompliance(app);
  const stack = new Stack(app, 'Fixture', { env: { account: '222222222222', region: 'eu-west-1' } });
  new lambda.Function(stack, 'Untraced', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  addChecks(app);
  let message = '';
  try {
    app.synth();
  } catch (e) {
    message = String(e);
  }
  // The tracing rule itself, on the fixture function, from the Serverless pack.
  expect(message).toMatch(/Serverless-LambdaTracing/);
  expect(message).toMatch(/Fixture\/Untraced/);
  expect(message).toMatch(/\(Serverless\)/);
});

describe('the baseline every resource gets', () => {
  const app = testApp();
  const stack = new Stack(app, 'Baseline');
  new kms.Key(stack, 'Key', { enableKeyRotation: true });
  new s3.Bucket(stack, 'Bucket');
  const template = Template.fromStack(stack).toJSON();
  const of = (type: string) =>
    Object.values(template.Resources as Record<string, Json>).filter((r) => r.Type === type);

  test('every key policy denies CreateGrant unless for an AWS resource (the statement CT.KMS.PR.3 checks)', () => {
    const statements = of('AWS::KMS::Key')[0]!.Properties.KeyPolicy.Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );
    expect(DENY_GRANTS_NOT_FOR_AWS_RESOURCES.sid).toBe('DenyGrantsNotForAwsResources');
  });

  test('every bucket sends its events to EventBridge natively (no notifications Lambda)', () => {
    expect(of('AWS::S3::Bucket')[0]!.Properties.NotificationConfiguration).toEqual({
      EventBridgeConfiguration: { EventBridgeEnabled: true },
    });
    expect(of('AWS::Lambda::Function')).toHaveLength(0);
  });

  test('each accepted exception names a rule and gives a reason', () => {
    for (const e of ACCEPTED_EXCEPTIONS) {
      expect(e.rule).toMatch(/^[a-z0-9_]+_check$/);
      expect(e.reason.length).toBeGreaterThan(40);
    }
  });
});

describe('what the exceptions rest on', () => {
  const built = buildApp(testApp(), testConfig(), { kind: 'all' });

  test("every biome log group is encrypted with its environment's logs key (a dynamic reference to the shared parameter)", () => {
    for (const stack of built.biomes) {
      const groups = Template.fromStack(stack).findResources('AWS::Logs::LogGroup');
      expect(Object.keys(groups).length).toBeGreaterThan(0);
      for (const g of Object.values(groups)) {
        expect(g.Properties.KmsKeyId).toBe(`{{resolve:ssm:/biomes/${stack.names.env}/shared/logs/key-arn}}`);
      }
    }
  });

  test("every shared and DevOps log group is encrypted with its own stack's logs key", () => {
    for (const stack of [...Object.values(built.shared), built.devops!]) {
      const template = Template.fromStack(stack).toJSON();
      const resources = template.Resources as Record<string, Json>;
      for (const g of Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
        const ref = g.Properties.KmsKeyId?.['Fn::GetAtt']?.[0] as string | undefined;
        expect(ref).toBeDefined();
        expect(resources[ref!]?.Type).toBe('AWS::KMS::Key');
      }
    }
  });

  test('a protected environment and the DevOps account keep logs at least a year; the others say why not', () => {
    const retention = (stack: Stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup')).map(
        (g) => g.Properties.RetentionInDays as number,
      );
    expect(Math.min(...retention(built.shared.prod!))).toBeGreaterThanOrEqual(365);
    expect(Math.min(...retention(built.devops!))).toBeGreaterThanOrEqual(365);
    expect(Math.max(...retention(built.shared.dev!))).toBeLessThan(365);
  });
});
