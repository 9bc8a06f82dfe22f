/**
 * Every AWS call in a function's code is granted to the role it runs with (test/fixtures/sdk-calls.ts
 * reads the calls from the sources). The handlers' tests run against mocks and local implementations
 * with admin credentials, so a call the role lacks (dynamodb:DeleteItem for a ledger item, once) fails
 * only in AWS, with AccessDenied.
 *
 * Per function folder, over the whole app: an action must be granted to some role that runs that
 * folder's bundle. A folder runs in several places (every environment's deploy trigger; the biome
 * database provider in each shared stack) and some grants follow the environment's features (a
 * canary's CodeDeploy calls in prod, sandpit notices in dev), as the calls do; which resources each
 * grant names is what the construct tests and the IAM evaluator tests prove.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildApp } from '../../lib/app';
import { discoverEntryPoints, LambdaBundles } from '../../lib/bundling/bundler';
import { sandpitSelection, testApp, testConfig } from '../fixtures/config';
import { actionMatches, sdkCalls } from '../fixtures/sdk-calls';

// Templates are plain JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const digest = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Folder name -> every Allow action of the roles of the functions that run its bundle. */
function grantsByFolder(): Map<string, Set<string>> {
  // The whole app, and a sandpit: `main`'s services start on placeholder code that the deploy trigger
  // replaces (lib/workload/biome/microservice.ts), a sandpit's carry their bundles.
  const whole = testApp();
  buildApp(whole, testConfig(), { kind: 'all' });
  const sandpit = testApp();
  buildApp(sandpit, testConfig(), sandpitSelection('alice'));
  const bundles = LambdaBundles.of(whole);
  const folderOf = new Map<string, string>();
  for (const name of Object.keys(discoverEntryPoints())) {
    folderOf.set(digest(path.join(bundles.directory(name), 'index.mjs')), name);
  }
  const grants = new Map<string, Set<string>>();
  for (const [assembly, stack] of [whole.synth(), sandpit.synth()].flatMap((a) =>
    a.stacks.map((st) => [a, st] as const),
  )) {
    const resources = stack.template.Resources as Record<string, Json>;
    const actionsOfRole = (roleId: string): string[] => {
      const documents = [
        ...((resources[roleId]?.Properties?.Policies ?? []) as Json[]).map((p) => p.PolicyDocument),
        ...Object.values(resources)
          .filter(
            (r) =>
              (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
              JSON.stringify(r.Properties.Roles ?? []).includes(`{"Ref":"${roleId}"}`),
          )
          .map((r) => r.Properties.PolicyDocument),
      ];
      return documents.flatMap((d: Json) =>
        (d.Statement as Json[]).filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()),
      );
    };
    for (const fn of Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      // The code's object key is `<asset hash>.zip`; the assembly stages the asset as `asset.<hash>/`.
      const key = fn.Properties.Code?.S3Key as string | undefined;
      if (typeof key !== 'string') continue;
      const code = path.join(assembly.directory, `asset.${path.basename(key, '.zip')}`, 'index.mjs');
      // CDK's own handlers (the provider framework, auto-delete) are not bundles of lambda/.
      const folder = fs.existsSync(code) ? folderOf.get(digest(code)) : undefined;
      if (!folder) continue;
      const roleId = fn.Properties.Role?.['Fn::GetAtt']?.[0] as string;
      const set = grants.get(folder) ?? new Set<string>();
      for (const action of actionsOfRole(roleId)) set.add(action);
      grants.set(folder, set);
    }
  }
  return grants;
}

const grants = grantsByFolder();
const folders = Object.keys(discoverEntryPoints());

test('every function folder runs somewhere in the whole app', () => {
  expect([...grants.keys()].sort()).toEqual(folders);
});

test.each(folders)('%s: every AWS call of its code is granted to a role that runs it', (folder) => {
  const calls = sdkCalls(`lambda/${folder}/handler.ts`);
  const granted = [...(grants.get(folder) ?? [])];
  expect(calls.filter((c) => !granted.some((g) => actionMatches(g, c.action)))).toEqual([]);
});
