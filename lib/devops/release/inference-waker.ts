/**
 * What the release's verify step does when a model of the release waits for a sleeping inference
 * endpoint (lib/devops/release/verify.ts `wakeInference`): invokes the environment's endpoint owner
 * (EnvScope.inferenceEndpointFunctionName, lib/workload/shared/inference-endpoint.ts) with
 * `{"action": "wake"}` through the read-and-verify role, as `npm run wake` does for a person
 * (lib/workload/shared/inference-owner.ts). The
 * owner creates the endpoint and delivers the waiting model once it is in service.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { askInferenceOwner, OwnerAnswerError } from '../../workload/shared/inference-owner';

/** A `wakeInference` for {@link VerifyDeps}: one invoke, and one line saying what the owner answered. */
export function inferenceWaker(lambda: LambdaClient, functionName: string): () => Promise<string> {
  return async () => {
    let answer: { state?: unknown; until?: unknown };
    try {
      answer = await askInferenceOwner(lambda, functionName, 'wake');
    } catch (e) {
      // The verify goes on waiting: a model that waits is not an ending, whatever the owner said.
      if (e instanceof OwnerAnswerError)
        return `${functionName} could not wake it (${e.message}); waiting anyway`;
      throw e;
    }
    const until = typeof answer.until === 'string' ? `, awake until ${answer.until}` : '';
    return `${String(answer.state)}${until} (an endpoint takes about 10 minutes to start)`;
  };
}
