/**
 * Reads the biome's model pointer. The deploy trigger moves it; a short cache keeps SSM calls (and
 * their throttling) off the hot path while a new model still goes live within seconds.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { MODEL_POINTER_NONE } from '../shared/contracts';
import { ServiceError } from '../shared/service-error';
import { PREDICT_ERRORS } from './errors';

export const POINTER_CACHE_MS = 30_000;

export class PointerCache {
  private cached: { value: string; expires: number } | undefined;

  constructor(
    private readonly ssm: SSMClient,
    private readonly parameterName: string,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = POINTER_CACHE_MS,
  ) {}

  /** The raw pointer value (possibly `none`); throws when the parameter is missing. */
  async read(): Promise<string> {
    if (this.cached && this.cached.expires > this.now()) return this.cached.value;
    const value = await this.readUncached();
    this.cached = { value, expires: this.now() + this.ttlMs };
    return value;
  }

  /** Reads SSM now, leaving the cache alone (the smoke check proves access, it does not serve). */
  async readUncached(): Promise<string> {
    let value: string | undefined;
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: this.parameterName }));
      value = out.Parameter?.Value;
    } catch (error) {
      if ((error as Error).name !== 'ParameterNotFound') throw error;
    }
    if (!value) {
      throw new ServiceError(
        PREDICT_ERRORS.noModel,
        `Model pointer ${this.parameterName} does not exist: deploy the biome stack (cdk deploy -c biome=<name>), then publish a model.`,
      );
    }
    return value;
  }

  /** The live TargetModel; refuses clearly while no model has been deployed. */
  async targetModel(): Promise<string> {
    const value = await this.read();
    if (value === MODEL_POINTER_NONE) {
      throw new ServiceError(
        PREDICT_ERRORS.noModel,
        `No model is live in this biome yet (${this.parameterName} is "${MODEL_POINTER_NONE}"): push a commit that builds models/<name>/ to publish one.`,
      );
    }
    return value;
  }
}
