/**
 * `npm run rollback -- --env <env> (--service <name> | --model <name>) --to <sha> [--biome <biome>]`
 * (scripts/rollback.ts): starts the environment's rollback pipeline (lib/devops/rollback-pipeline.ts)
 * with its variables and says where to watch it and how the ledger shows the result. Everything the
 * pipeline would refuse for its shape is refused here first, before any AWS call; whether the SHA was
 * published to that environment is the pipeline's Check (only the DevOps account's release bucket knows).
 * Runs with credentials of the DevOps account allowed codepipeline:StartPipelineExecution on it.
 */
import { type CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { SERVICES } from '../../../lambda/services';
import {
  MAINLINE_BIOME,
  artifactNameProblem,
  biomeNameProblem,
  shaProblem,
} from '../../../lambda/shared/grammar';
import { EnvScope } from '../../../lambda/shared/scope';
import { type BiomesConfig, environmentOf } from '../../config';
import { discoverModels } from '../../workload/biome/models';
import { ROLLBACK_VARIABLES, rollbackPipelineName } from '../rollback-contract';

export const ROLLBACK_USAGE =
  'usage: npm run rollback -- --env <environment> (--service <name> | --model <name>) --to <40-hex sha> [--biome <biome>]';

export class RollbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollbackError';
  }
}

export interface RollbackArgs {
  readonly env?: string;
  readonly service?: string;
  readonly model?: string;
  readonly to?: string;
  readonly biome?: string;
}

export interface RollbackRequest {
  readonly env: string;
  readonly biome: string;
  readonly kind: 'service' | 'model';
  readonly name: string;
  readonly sha: string;
  readonly pipelineName: string;
}

/** Checks the arguments against the config, the service registry and the model folders. */
export function rollbackRequest(
  config: BiomesConfig,
  args: RollbackArgs,
  known: { services: readonly string[]; models: readonly string[] } = {
    services: Object.keys(SERVICES),
    models: discoverModels(),
  },
): RollbackRequest {
  if (!args.env) throw new RollbackError(`--env is required\n${ROLLBACK_USAGE}`);
  try {
    environmentOf(config, args.env);
  } catch (e) {
    throw new RollbackError((e as Error).message);
  }
  if ((args.service === undefined) === (args.model === undefined)) {
    throw new RollbackError(`name exactly one of --service and --model\n${ROLLBACK_USAGE}`);
  }
  const kind = args.service !== undefined ? 'service' : 'model';
  const name = (args.service ?? args.model)!;
  const nameProblem = artifactNameProblem(name);
  if (nameProblem) throw new RollbackError(`--${kind} ${name}: ${nameProblem}`);
  const list = kind === 'service' ? known.services : known.models;
  if (!list.includes(name)) {
    throw new RollbackError(
      `--${kind} ${name}: no such ${kind} (${kind === 'service' ? 'lambda/services.ts' : 'models/'} has: ${list.join(', ') || 'none'})`,
    );
  }
  if (!args.to) throw new RollbackError(`--to <sha> is required\n${ROLLBACK_USAGE}`);
  const shaIssue = shaProblem(args.to);
  if (shaIssue) throw new RollbackError(`--to ${args.to}: ${shaIssue} (git rev-parse <commit> gives it)`);
  const biome = args.biome ?? MAINLINE_BIOME;
  const biomeIssue = biomeNameProblem(biome, { allowMainline: true });
  if (biomeIssue) throw new RollbackError(`--biome: ${biomeIssue}`);
  return {
    env: args.env,
    biome,
    kind,
    name,
    sha: args.to,
    pipelineName: rollbackPipelineName(config.appName, args.env),
  };
}

/** Starts the pipeline; returns the execution id and what to print. */
export async function startRollback(
  client: CodePipelineClient,
  config: BiomesConfig,
  request: RollbackRequest,
): Promise<{ executionId: string; lines: string[] }> {
  let out;
  try {
    out = await client.send(
      new StartPipelineExecutionCommand({
        name: request.pipelineName,
        variables: [
          { name: ROLLBACK_VARIABLES.env, value: request.env },
          { name: ROLLBACK_VARIABLES.biome, value: request.biome },
          { name: ROLLBACK_VARIABLES.name, value: request.name },
          { name: ROLLBACK_VARIABLES.sha, value: request.sha },
        ],
      }),
    );
  } catch (e) {
    const err = e as Error;
    throw new RollbackError(
      `could not start ${request.pipelineName} in the DevOps account ${config.devopsAccount} (${config.region}): ${err.name}: ${err.message}; use credentials of that account allowed codepipeline:StartPipelineExecution on it`,
    );
  }
  const executionId = out.pipelineExecutionId ?? '';
  const link = `https://${config.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/${request.pipelineName}/executions/${executionId}/timeline?region=${config.region}`;
  const ledger = new EnvScope(config.appName, request.env).sharedParameter('ledgerTableName');
  const values = JSON.stringify({
    ':pk': { S: `BIOME#${request.biome}` },
    ':sk': { S: `HISTORY#${request.kind}#${request.name}#` },
  });
  return {
    executionId,
    lines: [
      `rollback of ${request.kind} ${request.name} in ${request.env}/${request.biome} to ${request.sha} started: ${link}`,
      `It checks that ${request.sha} was published to ${request.env}${environmentOf(config, request.env).protected ? ', waits for an approval' : ''}, then publishes it again; the deploy trigger puts it live.`,
      `The ledger of ${request.env} (its account) shows it, newest first (previousSha is what it replaced):`,
      `  aws dynamodb query --table-name "$(aws ssm get-parameter --name ${ledger} --query Parameter.Value --output text)" --key-condition-expression "pk = :pk AND begins_with(sk, :sk)" --expression-attribute-values '${values}' --no-scan-index-forward --max-items 3`,
    ],
  };
}
