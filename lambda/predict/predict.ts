/** The predict service: score a sample with the biome's live model and store the prediction. Pure: clients come in as arguments. */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import * as z from 'zod/mini';
import type { DataApi } from '../shared/data-api';
import { targetModelProblem } from '../shared/grammar';
import { isEndpointMissing } from '../shared/inference-schedule';
import { issueLines } from '../shared/issues';
import { ServiceError } from '../shared/service-error';
import { type RetryOptions, withRetry } from '../shared/retry';
import { PREDICT_ERRORS } from './errors';
import type { PointerCache } from './pointer';

export const PredictRequestSchema = z.strictObject({
  sampleId: z.string().check(z.minLength(1), z.maxLength(128)),
  // z.number() already refuses NaN and ±Infinity.
  features: z.array(z.number()).check(z.minLength(1), z.maxLength(1024)),
  /** Score with the live model, plan the write against the schema, store nothing (the release's integration test). */
  dryRun: z.optional(z.boolean()),
});
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

export function parsePredictRequest(input: unknown): PredictRequest {
  const result = PredictRequestSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = issueLines(result.error, '(request)');
  throw new ServiceError(
    PREDICT_ERRORS.invalidRequest,
    `Invalid predict request (${problems.join('; ')}). Send {"sampleId": "<id of an ingested sample>", "features": [<number>, ...]}.`,
  );
}

/** models/README.md: input `{"instances": [[f1, ...]]}`, output `{"predictions": [{"score", "label"}]}`. */
const ModelOutputSchema = z.object({
  predictions: z.array(z.object({ score: z.number(), label: z.number() })).check(z.minLength(1)),
});

/** The first call to a model loads it on the endpoint (seconds); wait up to about 15 s. */
export const MODEL_LOAD_RETRY: RetryOptions = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 8_000 };

export interface Endpoint {
  readonly client: SageMakerRuntimeClient;
  readonly endpointName: string;
  /** @default MODEL_LOAD_RETRY */
  readonly retry?: RetryOptions;
  /**
   * Asked when the endpoint does not exist: the message that says it sleeps (or wakes), from the
   * state its owner keeps (lambda/shared/inference-schedule.ts), or undefined if it should be there.
   */
  readonly unavailable?: () => Promise<string | undefined>;
}

const isModelNotReady = (error: unknown) => (error as Error)?.name === 'ModelNotReadyException';

export async function score(
  endpoint: Endpoint,
  targetModel: string,
  features: readonly number[],
): Promise<{ score: number; label: number }> {
  const command = new InvokeEndpointCommand({
    EndpointName: endpoint.endpointName,
    TargetModel: targetModel,
    ContentType: 'application/json',
    Accept: 'application/json',
    Body: new TextEncoder().encode(JSON.stringify({ instances: [features] })),
  });
  let body: string;
  try {
    const out = await withRetry(
      () => endpoint.client.send(command),
      isModelNotReady,
      endpoint.retry ?? MODEL_LOAD_RETRY,
    );
    body = new TextDecoder().decode(out.Body);
  } catch (error) {
    if (isModelNotReady(error)) {
      throw new ServiceError(
        PREDICT_ERRORS.modelNotReady,
        `Model ${targetModel} is still loading on endpoint ${endpoint.endpointName}; retry in a minute.`,
      );
    }
    if (isEndpointMissing(error)) {
      const notice = await endpoint.unavailable?.();
      if (notice) throw new ServiceError(PREDICT_ERRORS.inferenceAsleep, notice);
    }
    throw new ServiceError(
      PREDICT_ERRORS.endpointFailed,
      `Endpoint ${endpoint.endpointName} refused model ${targetModel}: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
  let parsed: z.infer<typeof ModelOutputSchema>;
  try {
    parsed = ModelOutputSchema.parse(JSON.parse(body));
  } catch {
    throw new ServiceError(
      PREDICT_ERRORS.endpointFailed,
      `Model ${targetModel} answered ${JSON.stringify(body.slice(0, 200))}, not {"predictions": [{"score": <number>, "label": <0|1>}]}; check the model against models/README.md.`,
    );
  }
  const [first] = parsed.predictions;
  if (!first) throw new Error('unreachable: the model output schema requires at least one prediction');
  return { score: first.score, label: first.label };
}

export interface PredictResult {
  readonly sampleId: string;
  readonly model: string;
  /** Probability of the positive class. */
  readonly prediction: number;
  readonly label: number;
  /** The stored prediction's id; null for a dry run, which stores nothing. */
  readonly predictionId: number | null;
}

export interface PredictDeps {
  /** The biome the service runs in: it may score only that biome's models. */
  readonly biome: string;
  readonly db: DataApi;
  readonly endpoint: Endpoint;
  readonly pointer: PointerCache;
  /** The commit this version runs (stored with each prediction); absent for code CDK deployed. */
  readonly commit?: string;
}

/**
 * The SQL of predict. Exported for the migration compatibility test, which runs the SQL of each
 * release against the next release's schema (lambda/biome-database/migrations.ts: expand/contract).
 */
export const PREDICT_SQL = {
  insert:
    'INSERT INTO predictions (sample_id, model, result, service_commit) VALUES (:sample_id, :model, :result, :service_commit) RETURNING id',
} as const;

export async function predict(deps: PredictDeps, request: PredictRequest): Promise<PredictResult> {
  const model = await deps.pointer.targetModel();
  // Never send the endpoint a TargetModel that is not exactly one of this biome's model objects: its
  // IAM condition is a wildcard (<biome>/...), which `alice/../bob7/...` would still match.
  const problem = targetModelProblem(model, deps.biome);
  if (problem) {
    throw new ServiceError(
      PREDICT_ERRORS.invalidModelPointer,
      `The model pointer holds something this service refuses to send: ${problem}. Publish a model again to reset it.`,
    );
  }
  const { score: prediction, label } = await score(deps.endpoint, model, request.features);
  const params = {
    sample_id: request.sampleId,
    model,
    result: { json: { prediction, label } },
    service_commit: deps.commit ?? null,
  };
  if (request.dryRun) {
    // Planned, not run: the schema is proven, nothing is stored (see ingestSample).
    await deps.db.execute(`EXPLAIN ${PREDICT_SQL.insert}`, params);
    return { sampleId: request.sampleId, model, prediction, label, predictionId: null };
  }
  const out = await deps.db.statement(PREDICT_SQL.insert, params);
  const id = out.records?.[0]?.[0]?.longValue;
  return { sampleId: request.sampleId, model, prediction, label, predictionId: Number(id) };
}
