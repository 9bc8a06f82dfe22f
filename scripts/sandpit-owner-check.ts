/**
 * The sandpit pipeline's owner check (lib/devops/sandpit-deploy-project.ts), run before `cdk deploy`
 * from the cloud assembly (the working directory): refuses a push whose commit author is not the owner
 * of the sandpit already deployed (nor a maintainer), naming the owner. Reads the deployed stack's
 * `owner` tag through the sandpit deployer role, the assembly's from its manifest. Bundled by
 * `npm run build-tools` as tools/sandpit-owner/index.mjs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { SANDPIT_TAGS } from '../lambda/shared/sandpit';
import { assemblyStackTags, takeoverProblem } from '../lib/devops/release/sandpit-owner';

/** Variables the deploy project sets. */
export const OWNER_CHECK_ENV = {
  stack: 'SANDPIT_STACK',
  deployerRoleArn: 'SANDPIT_DEPLOYER_ROLE_ARN',
  maintainers: 'SANDPIT_MAINTAINERS',
} as const;

function setting(name: string): string {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set; the sandpit deploy project sets it`);
  return v;
}

async function deployedOwner(stack: string, roleArn: string): Promise<string | undefined> {
  const out = await new STSClient({}).send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'sandpit-owner-check' }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  const cfn = new CloudFormationClient({
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    },
  });
  try {
    const stacks = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    return stacks.Stacks?.[0]?.Tags?.find((t) => t.Key === SANDPIT_TAGS.owner)?.Value;
  } catch (e) {
    // CloudFormation answers ValidationError "Stack with id ... does not exist" for a new sandpit.
    if ((e as { name?: string }).name === 'ValidationError' && /does not exist/.test(String(e)))
      return undefined;
    throw e;
  }
}

async function main(): Promise<number> {
  const stack = setting(OWNER_CHECK_ENV.stack);
  const maintainers = JSON.parse(setting(OWNER_CHECK_ENV.maintainers)) as string[];
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'manifest.json'), 'utf8'));
  const tags = assemblyStackTags(manifest, stack);
  const author = tags?.[SANDPIT_TAGS.owner];
  if (!author) {
    console.error(
      `the assembly has no stack ${stack} with an ${SANDPIT_TAGS.owner} tag: the build must synthesize -c biome with -c owner`,
    );
    return 1;
  }
  const existing = await deployedOwner(stack, setting(OWNER_CHECK_ENV.deployerRoleArn));
  const problem = takeoverProblem(stack, existing, author, maintainers);
  if (problem) {
    console.error(problem);
    return 1;
  }
  console.log(`${stack}: ${existing ? `owned by ${existing}` : 'new sandpit'}; deploying for ${author}`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  },
);
