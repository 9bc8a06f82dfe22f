import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEPLOY_TRIGGER_ENV } from '../../lambda/deploy-trigger/env';
import { BUNDLE_FILE, LambdaBundles } from '../../lib/bundling/bundler';

// A bundle must load in a fresh Node process exactly as Lambda loads it (ESM, no node_modules beside it).
describe('a bundled function', () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-runtime-'));
  afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
  const dir = new LambdaBundles({ cacheDir }).directory('deploy-trigger');
  const source = fs.readFileSync(path.join(dir, BUNDLE_FILE), 'utf8');

  test('imports on its own and exports handler', () => {
    // The handler validates its settings at import, as in Lambda; give it plausible ones.
    const settings = Object.fromEntries(Object.values(DEPLOY_TRIGGER_ENV).map((name) => [name, 'x']));
    Object.assign(settings, {
      [DEPLOY_TRIGGER_ENV.modelPrefix]: 'models/',
      [DEPLOY_TRIGGER_ENV.envName]: 'dev',
      [DEPLOY_TRIGGER_ENV.appName]: 'biomes',
      [DEPLOY_TRIGGER_ENV.maxServiceBytes]: '1000',
      [DEPLOY_TRIGGER_ENV.maxModelBytes]: '1000',
      [DEPLOY_TRIGGER_ENV.leaseSeconds]: '60',
      [DEPLOY_TRIGGER_ENV.ownersTopicArn]: 'arn:aws:sns:eu-west-1:222222222222:biomes-dev-sandpit-owners',
    });
    const isolated = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-isolated-'));
    fs.copyFileSync(path.join(dir, BUNDLE_FILE), path.join(isolated, BUNDLE_FILE));
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(path.join(isolated, BUNDLE_FILE))}); console.log(typeof m.handler);`,
      ],
      {
        env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...settings },
        encoding: 'utf8',
        stdio: 'pipe',
      },
    );
    fs.rmSync(isolated, { recursive: true, force: true });
    expect(out.trim()).toBe('function');
  });

  test('keeps only the environment link of the SDK credential chain', () => {
    expect(source).toContain('AWS_SECRET_ACCESS_KEY');
    expect(source).not.toMatch(/credential-provider-sso|fromSSO|AWS_WEB_IDENTITY_TOKEN_FILE/);
  });
});
