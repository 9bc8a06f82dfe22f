/**
 * Asking the inference endpoint's owner (lib/workload/shared/inference-endpoint.ts, named
 * EnvScope.inferenceEndpointFunctionName) to act: `npm run wake` (./inference-wake.ts) and the release's
 * Verify step (lib/devops/release/inference-waker.ts) both call it this way. No config import: the
 * verify tool bundles it.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

/** The owner ran and failed, or answered something that is not a JSON object. */
export class OwnerAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerAnswerError';
  }
}

/**
 * Invokes the owner with `{"action": action}` and returns its JSON answer. An invoke the SDK refuses
 * (access denied, no such function) is thrown as the SDK threw it.
 */
export async function askInferenceOwner(
  lambda: LambdaClient,
  functionName: string,
  action: 'wake' | 'status',
): Promise<Record<string, unknown>> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify({ action })),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) throw new OwnerAnswerError(`${functionName} failed: ${text.slice(0, 500)}`);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new OwnerAnswerError(`${functionName} answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    throw new OwnerAnswerError(`${functionName} answered ${text.slice(0, 200)}, not an object`);
  }
  return answer as Record<string, unknown>;
}
