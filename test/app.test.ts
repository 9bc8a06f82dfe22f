import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import {
  featureFlags,
  rawPlaceholderConfig,
  testApp,
  testConfig,
  unacknowledgedFindings,
  sandpitSelection,
} from './fixtures/config';

const ROOT = path.join(__dirname, '..');
// Template JSON is walked generically below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

describe('the whole app (placeholders, no -c biome)', () => {
  const app = testApp();
  const built = buildApp(app, testConfig(), { kind: 'all' });
  // One synth, with every check cdk synth runs; the template tests below read the assembly it leaves
  // (Template.fromStack takes a synthesized app's assembly). With a finding, that synth fails: the
  // findings test names it, and the template tests fail on the same ValidationFailed.
  let findings: string[] = [];
  beforeAll(() => {
    findings = unacknowledgedFindings(app);
  });

  test('has the DevOps stack, a shared stack per env and main in every env', () => {
    expect(built.stacks.map((s) => s.stackName).sort()).toEqual(
      [
        'biomes-devops',
        'biomes-dev-shared',
        'biomes-staging-shared',
        'biomes-prod-shared',
        'biomes-dev-main',
        'biomes-staging-main',
        'biomes-prod-main',
      ].sort(),
    );
  });

  test('each stack lives in its own account', () => {
    const account = (name: string) => built.stacks.find((s) => s.stackName === name)!.account;
    expect(account('biomes-devops')).toBe('111111111111');
    expect(account('biomes-dev-shared')).toBe('222222222222');
    expect(account('biomes-staging-main')).toBe('333333333333');
    expect(account('biomes-prod-main')).toBe('444444444444');
  });

  test('the DevOps stack deploys after every shared stack (its replication needs the landing buckets)', () => {
    const deps = built.devops!.dependencies.map((s) => s.stackName).sort();
    expect(deps).toEqual(['biomes-dev-shared', 'biomes-prod-shared', 'biomes-staging-shared']);
  });

  test("each mainline stack deploys after its environment's shared stack (it reads the shared parameters)", () => {
    for (const biome of built.biomes) {
      expect([biome.stackName, biome.dependencies.map((s) => s.stackName)]).toEqual([
        biome.stackName,
        [`biomes-${biome.names.env}-shared`],
      ]);
    }
  });

  test('the protected environment (prod) has termination protection, the others do not', () => {
    expect(built.shared.prod!.terminationProtection).toBe(true);
    expect(built.shared.staging!.terminationProtection).toBe(false);
    expect(built.shared.dev!.terminationProtection).toBe(false);
  });

  test('no IAM statement anywhere allows every action on every resource', () => {
    const asList = (v: unknown) => (Array.isArray(v) ? v : [v]);
    const offenders: string[] = [];
    for (const stack of built.stacks) {
      const template = Template.fromStack(stack).toJSON() as {
        Resources: Record<string, { Type: string; Properties?: Loose }>;
      };
      for (const [id, r] of Object.entries(template.Resources)) {
        const documents = [
          r.Properties?.PolicyDocument,
          r.Properties?.KeyPolicy,
          ...asList(r.Properties?.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
        ].filter(Boolean);
        for (const doc of documents) {
          for (const st of asList(doc.Statement)) {
            if (st.Effect !== 'Allow') continue;
            const actions = asList(st.Action ?? []);
            const resources = asList(st.Resource ?? []);
            if (actions.some((a) => a === '*' || a === '*:*') && resources.includes('*')) {
              offenders.push(`${stack.stackName}/${id}`);
            }
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  test('every bucket in every stack refuses requests below TLS 1.2 and blocks public access', () => {
    for (const stack of built.stacks) {
      const template = Template.fromStack(stack);
      const buckets = Object.entries(template.findResources('AWS::S3::Bucket'));
      const policies = JSON.stringify(template.findResources('AWS::S3::BucketPolicy'));
      for (const [id, bucket] of buckets) {
        expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(policies).toContain(`"Ref":"${id}"`);
      }
      const tlsDenies = (policies.match(/"s3:TlsVersion":1\.2/g) ?? []).length;
      expect(tlsDenies).toBe(buckets.length);
    }
  });

  test('every bucket in every stack is versioned (CT.S3.PR.11), and an overwritten or deleted version of an access-log or pipeline-artifact bucket goes after a day', () => {
    let logAndArtifactBuckets = 0;
    for (const stack of built.stacks) {
      const buckets = Template.fromStack(stack).findResources('AWS::S3::Bucket');
      for (const [id, bucket] of Object.entries(buckets)) {
        expect([id, bucket.Properties.VersioningConfiguration]).toEqual([id, { Status: 'Enabled' }]);
        // Access-log targets (SSE-S3: log delivery cannot write SSE-KMS) and the pipelines' artifact stores.
        const sseS3 =
          bucket.Properties.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]
            ?.ServerSideEncryptionByDefault?.SSEAlgorithm === 'AES256';
        const artifacts = /Artifacts/.test(id);
        if (!sseS3 && !artifacts) continue;
        logAndArtifactBuckets++;
        const rules = (bucket.Properties.LifecycleConfiguration?.Rules ?? []) as {
          NoncurrentVersionExpiration?: { NoncurrentDays: number };
        }[];
        expect([id, rules.some((r) => r.NoncurrentVersionExpiration?.NoncurrentDays === 1)]).toEqual([
          id,
          true,
        ]);
      }
    }
    // DevOps: its access-log bucket and the two artifact stores (release, sandpit); each of the three
    // shared stacks: its access-log bucket.
    expect(logAndArtifactBuckets).toBe(1 + 2 + 3);
  });

  test('every SQS queue has a dead-letter queue or, being one, a redrive-allow policy (CT.SQS.PR.1)', () => {
    let queues = 0;
    for (const stack of built.stacks) {
      for (const [id, queue] of Object.entries(Template.fromStack(stack).findResources('AWS::SQS::Queue'))) {
        queues++;
        const { RedrivePolicy, RedriveAllowPolicy } = queue.Properties as Record<string, unknown>;
        expect([id, RedrivePolicy !== undefined || RedriveAllowPolicy !== undefined]).toEqual([id, true]);
      }
    }
    expect(queues).toBeGreaterThan(0);
  });

  test('no unacknowledged cdk-nag finding anywhere', () => {
    expect(findings).toEqual([]);
  });
});

test('-c biome=alice builds exactly one stack, in dev', () => {
  const built = buildApp(testApp(), testConfig(), sandpitSelection('alice'));
  expect(built.stacks.map((s) => s.stackName)).toEqual(['biomes-dev-alice']);
  expect(built.stacks[0]?.account).toBe('222222222222');
});

describe('bin/app.ts (what cdk synth runs)', () => {
  // cdk.json's app command, with this Node.
  const [node, ...APP_ARGS] = (
    JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { app: string }
  ).app.split(' ');
  expect(node).toBe('node');
  // The CLI hands context to the app in CDK_CONTEXT_JSON; give it cdk.json's context plus -c values.
  function runApp(extra: Record<string, unknown>): { status: number | null; output: string } {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-app-'));
    const context = { ...featureFlags(), biomes: rawPlaceholderConfig(), ...extra };
    try {
      const run = spawnSync(process.execPath, APP_ARGS, {
        cwd: ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        encoding: 'utf8',
      });
      return { status: run.status, output: `${run.stdout}${run.stderr}` };
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }

  test('a synth that succeeds prints nothing: no deprecation warning, no cdk-nag line (a sandpit)', () => {
    expect(runApp({ biome: 'alice', owner: 'alice@example.com' })).toEqual({ status: 0, output: '' });
  });

  test('a bad biome fails synth with the rule, not a stack trace', () => {
    const { status, output } = runApp({ biome: 'Alice' });
    expect(status).toBe(1);
    expect(output).toMatch(/-c biome: "Alice" must match/);
    expect(output).not.toMatch(/at .*\.ts:\d+/);
  });

  test('a bad account id fails synth naming the key', () => {
    const raw = rawPlaceholderConfig() as { accounts: Record<string, string> };
    raw.accounts.staging = '3333';
    const { status, output } = runApp({ biomes: raw });
    expect(status).toBe(1);
    expect(output).toMatch(/biomes\.accounts\.staging: must be a 12-digit AWS account id/);
  });
});
