/**
 * Reading the inference state its endpoint's owner keeps (EnvScope.inferenceStateParameter, JSON of
 * InferenceState): the owner itself, the deploy trigger and the predict service read it this one way.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type InferenceState, parseInferenceState } from './inference-schedule';

/** The parameter exists but is not an inference state. */
export class MalformedInferenceState extends Error {
  constructor(
    readonly parameter: string,
    problem: string,
  ) {
    super(`SSM parameter ${parameter}: ${problem}`);
    this.name = 'MalformedInferenceState';
  }
}

/**
 * The state, or undefined when the parameter does not exist (an environment deployed before the owner,
 * or whose shared stack is gone). A malformed value throws {@link MalformedInferenceState}; any other
 * SSM error is thrown as it is.
 */
export async function getInferenceState(
  ssm: SSMClient,
  parameter: string,
): Promise<InferenceState | undefined> {
  let text: string | undefined;
  try {
    text = (await ssm.send(new GetParameterCommand({ Name: parameter }))).Parameter?.Value;
  } catch (e) {
    if (e instanceof Error && e.name === 'ParameterNotFound') return undefined;
    throw e;
  }
  try {
    return parseInferenceState(text ?? '');
  } catch (e) {
    throw new MalformedInferenceState(parameter, e instanceof Error ? e.message : String(e));
  }
}
