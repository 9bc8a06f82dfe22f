/** Lambda entry point of the predict service: parse, wire clients once, delegate. */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SMOKE_EVENT, type SmokeResult } from '../shared/contracts';
import { predictSettings } from './env';
import { PointerCache } from './pointer';
import { parsePredictRequest, predict, type PredictDeps, type PredictResult } from './predict';

const rds = new RDSDataClient({});
const sagemaker = new SageMakerRuntimeClient({});
const ssm = new SSMClient({});
let deps: PredictDeps | undefined;

function wire(): PredictDeps {
  const s = predictSettings(process.env);
  return {
    db: { client: rds, clusterArn: s.dbClusterArn, secretArn: s.dbSecretArn, database: s.dbName },
    endpoint: { client: sagemaker, endpointName: s.endpointName },
    pointer: new PointerCache(ssm, s.modelPointerParameter),
  };
}

/**
 * The smoke check proves configuration and read access to the model pointer (cheap SSM call). It
 * neither invokes the endpoint nor touches the database: a biome without a model must still deploy,
 * and waking an auto-paused database on every deploy costs ACUs and a 15 s+ resume.
 */
export async function smoke(): Promise<SmokeResult> {
  try {
    deps ??= wire();
    const pointer = await deps.pointer.readUncached();
    return { ok: true, detail: `model pointer: ${pointer}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

export async function handler(event: unknown): Promise<PredictResult | SmokeResult> {
  if (JSON.stringify(event) === JSON.stringify(SMOKE_EVENT)) return smoke();
  const request = parsePredictRequest(event);
  deps ??= wire();
  return predict(deps, request);
}
