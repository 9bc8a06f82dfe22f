/**
 * What the release's verify step does when a model of the release waits for a sleeping inference
 * endpoint (lib/devops/release/verify.ts `wakeInference`): invokes the environment's endpoint owner
 * (EnvScope.inferenceEndpointFunctionName, lib/workload/shared/inference-endpoint.ts) with
 * `{"action": "wake"}` through the read-and-verify role, as `npm run wake` does for a person. The
 * owner creates the endpoint and delivers the waiting model once it is in service.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

/** A `wakeInference` for {@link VerifyDeps}: one invoke, and one line saying what the owner answered. */
export function inferenceWaker(lambda: LambdaClient, functionName: string): () => Promise<string> {
  return async () => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: new TextEncoder().encode(JSON.stringify({ action: 'wake' })),
      }),
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) return `${functionName} could not wake it (${text.slice(0, 300)}); waiting anyway`;
    let answer: { state?: unknown; until?: unknown } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      return `${functionName} answered ${text.slice(0, 200)}; waiting anyway`;
    }
    const until = typeof answer.until === 'string' ? `, awake until ${answer.until}` : '';
    return `${String(answer.state)}${until} (an endpoint takes about 10 minutes to start)`;
  };
}
