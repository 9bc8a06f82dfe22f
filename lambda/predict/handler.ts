/** Lambda entry point of the predict service: parse, wire clients once, delegate, log the outcome. */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { SMOKE_EVENT, type SmokeResult } from '../shared/contracts';
import { serviceLogger } from '../shared/logger';
import { dataApi } from '../shared/data-api';
import { unavailableNotice } from '../shared/inference-schedule';
import { getInferenceState } from '../shared/inference-state';
import { EnvScope } from '../shared/scope';
import { databaseSettings, modelSettings, SERVICE_ENV, serviceIdentity } from '../shared/settings';
import { PREDICT_MODEL } from './model';
import { PointerCache } from './pointer';
import { parsePredictRequest, predict, type PredictDeps, type PredictResult } from './predict';

type Source = Readonly<Record<string, string | undefined>>;

const rds = new RDSDataClient({});
const sagemaker = new SageMakerRuntimeClient({});
const ssm = new SSMClient({});
const logger = serviceLogger('predict', process.env);
let deps: PredictDeps | undefined;

/** Dependencies from the configuration (all of it is required), over the module's clients. */
function wire(source: Source): PredictDeps {
  const { app, env, biome } = serviceIdentity(source);
  const database = databaseSettings(source);
  const model = modelSettings(source, PREDICT_MODEL);
  return {
    biome,
    db: dataApi({
      client: rds,
      clusterArn: database.clusterArn,
      secretArn: database.secretArn,
      database: database.database,
    }),
    endpoint: {
      client: sagemaker,
      endpointName: model.endpointName,
      unavailable: () => inferenceNotice(new EnvScope(app, env).inferenceStateParameter, env),
    },
    pointer: new PointerCache(ssm, model.pointerParameter),
    ...(source[SERVICE_ENV.commitSha] ? { commit: source[SERVICE_ENV.commitSha] } : {}),
  };
}

/**
 * Why the endpoint is missing, from its owner's state; undefined when the state is absent (an
 * environment without a schedule: the missing endpoint is then a fault, reported as such) or awake.
 */
async function inferenceNotice(parameter: string, env: string): Promise<string | undefined> {
  return unavailableNotice(await getInferenceState(ssm, parameter), env);
}

/**
 * The smoke check proves configuration and read access to the model pointer (cheap SSM call). It
 * neither invokes the endpoint nor touches the database: a biome without a model must still deploy,
 * and waking an auto-paused database on every deploy costs ACUs and a 15 s+ resume.
 */
export async function smoke(): Promise<SmokeResult> {
  try {
    deps ??= wire(process.env);
    const pointer = await deps.pointer.readUncached();
    return { ok: true, detail: `model pointer: ${pointer}` };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

export async function handler(event: unknown, context: Context): Promise<PredictResult | SmokeResult> {
  logger.addContext(context);
  if (JSON.stringify(event) === JSON.stringify(SMOKE_EVENT)) {
    const result = await smoke();
    if (result.ok) logger.info('smoke check passed', { detail: result.detail });
    else logger.error('smoke check failed', { detail: result.detail });
    return result;
  }
  try {
    const request = parsePredictRequest(event);
    deps ??= wire(process.env);
    const result = await predict(deps, request);
    // Ids and the model only: feature values may be sensitive.
    logger.info(request.dryRun ? 'prediction planned (dry run, nothing stored)' : 'prediction stored', {
      sampleId: result.sampleId,
      model: result.model,
      predictionId: result.predictionId,
    });
    return result;
  } catch (error) {
    logger.error('predict failed', { error });
    throw error;
  }
}
