/**
 * A small world for the inference endpoint's owner (lambda/inference-endpoint/): SageMaker's endpoint
 * lifecycle as the API Reference describes it (CreateEndpoint -> Creating -> InService, UpdateEndpoint
 * -> Updating -> InService or a rollback, DeleteEndpoint -> Deleting -> gone, a missing endpoint a
 * `ValidationException: Could not find endpoint ...`), SSM parameters, and the ledger on dynalite
 * (test/fixtures/ledger-dynalite.ts: the waiting items' key conditions and conditional deletes are real
 * DynamoDB).
 */
import { InvokeCommand, type InvokeCommandInput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateEndpointCommand,
  type CreateEndpointCommandInput,
  DeleteEndpointCommand,
  type DeleteEndpointCommandInput,
  DescribeEndpointCommand,
  type DescribeEndpointCommandInput,
  SageMakerClient,
  UpdateEndpointCommand,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import {
  DeleteParameterCommand,
  type DeleteParameterCommandInput,
  GetParameterCommand,
  type GetParameterCommandInput,
  GetParametersByPathCommand,
  type GetParametersByPathCommandInput,
  PutParameterCommand,
  type PutParameterCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLedgerOnDynalite } from '../../fixtures/ledger-dynalite';
import { mockClient } from 'aws-sdk-client-mock';
import type { Deps } from '../../../lambda/inference-endpoint/deps';
import type { Settings } from '../../../lambda/inference-endpoint/settings';
import {
  DEFAULT_SCHEDULE,
  type InferenceState,
  parseInferenceState,
} from '../../../lambda/shared/inference-schedule';
import { EnvScope } from '../../../lambda/shared/scope';

export const REGION = 'eu-west-1';
export const SCOPE = new EnvScope('biomes', 'dev');
export const ENDPOINT = SCOPE.endpointName;
export const CONFIG = 'EndpointConfig-aaaa';
export const CONFIG2 = 'EndpointConfig-bbbb';
export const TABLE = 'ledger';
export const TRIGGER = 'biomes-dev-DeployTriggerFunction';
/** The default schedule: UTC, MON-FRI 07:00-19:00, a manual wake of 2 hours. */
export const SCHEDULE = { ...DEFAULT_SCHEDULE, timeZone: 'UTC' };

/** 2026-12-04 is a Friday. */
export const FRIDAY_NOON = '2026-12-04T12:00:00.000Z';
export const FRIDAY_1900 = '2026-12-04T19:00:00.000Z';
export const SATURDAY_0300 = '2026-12-05T03:00:00.000Z';
export const MONDAY_0700 = '2026-12-07T07:00:00.000Z';

interface Endpoint {
  status: string;
  config: string;
  /** What an update is moving to (Updating), and whether it will fail (rolled back). */
  target?: string;
  failUpdate?: boolean;
  failureReason?: string;
}

function notFound(name: string): Error {
  // The control plane's answer for a missing endpoint (DescribeEndpoint, DeleteEndpoint).
  return Object.assign(
    new Error(`Could not find endpoint "arn:aws:sagemaker:${REGION}:222222222222:endpoint/${name}".`),
    {
      name: 'ValidationException',
    },
  );
}

/** SageMaker's endpoints, moved on by {@link SageMakerWorld.settle} (what minutes of waiting would do). */
export class SageMakerWorld {
  readonly endpoints = new Map<string, Endpoint>();
  /** Whether the next create fails to start (a container that never passes its ping). */
  failNextCreate?: string;

  describe(input: DescribeEndpointCommandInput) {
    const e = this.endpoints.get(input.EndpointName!);
    if (!e) throw notFound(input.EndpointName!);
    return {
      EndpointName: input.EndpointName,
      EndpointStatus: e.status,
      EndpointConfigName: e.config,
      ...(e.failureReason ? { FailureReason: e.failureReason } : {}),
    };
  }

  create(input: CreateEndpointCommandInput) {
    const name = input.EndpointName!;
    if (this.endpoints.has(name)) {
      throw Object.assign(new Error(`Cannot create already existing endpoint "${name}".`), {
        name: 'ValidationException',
      });
    }
    this.endpoints.set(name, { status: 'Creating', config: input.EndpointConfigName! });
    return {};
  }

  update(input: UpdateEndpointCommandInput) {
    const e = this.endpoints.get(input.EndpointName!);
    if (!e) throw notFound(input.EndpointName!);
    if (e.status !== 'InService') {
      throw Object.assign(new Error(`Cannot update in-progress endpoint "${input.EndpointName!}".`), {
        name: 'ValidationException',
      });
    }
    e.status = 'Updating';
    e.target = input.EndpointConfigName!;
    return {};
  }

  delete(input: DeleteEndpointCommandInput) {
    const e = this.endpoints.get(input.EndpointName!);
    if (!e) throw notFound(input.EndpointName!);
    if (['Creating', 'Updating', 'Deleting', 'SystemUpdating'].includes(e.status)) {
      throw Object.assign(new Error(`Cannot delete in-progress endpoint "${input.EndpointName!}".`), {
        name: 'ValidationException',
      });
    }
    e.status = 'Deleting';
    return {};
  }

  /** Every change in progress completes (creating and updating endpoints come up, deleting ones go). */
  settle(): void {
    for (const [name, e] of this.endpoints) {
      if (e.status === 'Creating') {
        if (this.failNextCreate) {
          e.status = 'Failed';
          e.failureReason = this.failNextCreate;
          this.failNextCreate = undefined;
        } else e.status = 'InService';
      } else if (e.status === 'Updating') {
        if (e.failUpdate)
          e.failureReason =
            'The primary container for production variant AllTraffic did not pass the ping health check.';
        else e.config = e.target!;
        e.status = 'InService';
        delete e.target;
      } else if (e.status === 'Deleting') {
        this.endpoints.delete(name);
      }
    }
  }
}

/** SSM parameters by name. */
export class ParameterStore {
  readonly values = new Map<string, string>();

  get(input: GetParameterCommandInput) {
    const value = this.values.get(input.Name!);
    if (value === undefined) {
      throw Object.assign(new Error(`Parameter ${input.Name!} not found.`), { name: 'ParameterNotFound' });
    }
    return { Parameter: { Name: input.Name, Value: value, Type: 'String' } };
  }

  put(input: PutParameterCommandInput) {
    if (this.values.has(input.Name!) && !input.Overwrite) {
      throw Object.assign(new Error('The parameter already exists.'), { name: 'ParameterAlreadyExists' });
    }
    this.values.set(input.Name!, input.Value!);
    return { Version: 1 };
  }

  /** Every parameter under the path (one page: these tests hold a handful). */
  byPath(input: GetParametersByPathCommandInput) {
    const prefix = `${input.Path!.replace(/\/$/, '')}/`;
    return {
      Parameters: [...this.values]
        .filter(([name]) => name.startsWith(prefix))
        .map(([Name, Value]) => ({ Name, Value, Type: 'String' })),
    };
  }

  delete(input: DeleteParameterCommandInput) {
    if (!this.values.delete(input.Name!)) {
      throw Object.assign(new Error(`Parameter ${input.Name!} not found.`), { name: 'ParameterNotFound' });
    }
    return {};
  }

  state(): InferenceState | undefined {
    const text = this.values.get(SCOPE.inferenceStateParameter);
    return text === undefined ? undefined : parseInferenceState(text);
  }
}

/** The ledger on dynalite (test/fixtures/ledger-dynalite.ts), as the shared stack declares the table. */
export const startLedger = () => startLedgerOnDynalite(TABLE, REGION);

export interface World {
  readonly sagemaker: SageMakerWorld;
  readonly ssm: ParameterStore;
  /** Payloads sent to the deploy trigger. */
  readonly invoked: unknown[];
  readonly clock: { now: Date };
  readonly deps: Deps;
  readonly restore: () => void;
}

/** The owner's deps over a fresh SageMaker and SSM world and the given ledger, at `at`; `null`: no schedule. */
export function world(
  db: DynamoDBDocumentClient,
  at: string,
  schedule: Settings['schedule'] | null = SCHEDULE,
): World {
  const sagemaker = new SageMakerWorld();
  const ssm = new ParameterStore();
  const invoked: unknown[] = [];
  const clock = { now: new Date(at) };
  const sm = mockClient(SageMakerClient);
  sm.on(DescribeEndpointCommand).callsFake((i: DescribeEndpointCommandInput) => sagemaker.describe(i));
  sm.on(CreateEndpointCommand).callsFake((i: CreateEndpointCommandInput) => sagemaker.create(i));
  sm.on(UpdateEndpointCommand).callsFake((i: UpdateEndpointCommandInput) => sagemaker.update(i));
  sm.on(DeleteEndpointCommand).callsFake((i: DeleteEndpointCommandInput) => sagemaker.delete(i));
  const params = mockClient(SSMClient);
  params.on(GetParameterCommand).callsFake((i: GetParameterCommandInput) => ssm.get(i));
  params.on(PutParameterCommand).callsFake((i: PutParameterCommandInput) => ssm.put(i));
  params.on(GetParametersByPathCommand).callsFake((i: GetParametersByPathCommandInput) => ssm.byPath(i));
  params.on(DeleteParameterCommand).callsFake((i: DeleteParameterCommandInput) => ssm.delete(i));
  const lambda = mockClient(LambdaClient);
  lambda.on(InvokeCommand).callsFake((i: InvokeCommandInput) => {
    invoked.push(JSON.parse(Buffer.from(i.Payload as Uint8Array).toString('utf8')));
    return { StatusCode: 202 };
  });
  let n = 0;
  const deps: Deps = {
    sagemaker: new SageMakerClient({ region: REGION }),
    ssm: new SSMClient({ region: REGION }),
    db,
    lambda: new LambdaClient({ region: REGION }),
    settings: { scope: SCOPE, ledgerTable: TABLE, deployTrigger: TRIGGER, schedule: schedule ?? undefined },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => clock.now,
    newId: () => `id-${String(++n)}`,
  };
  return {
    sagemaker,
    ssm,
    invoked,
    clock,
    deps,
    restore: () => {
      sm.restore();
      params.restore();
      lambda.restore();
    },
  };
}

/** A CloudFormation request as the Provider framework passes it to onEvent / isComplete. */
export function request(
  type: 'Create' | 'Update' | 'Delete',
  config = CONFIG,
  options: { schedule?: string; physicalId?: string; data?: Record<string, unknown>; env?: string } = {},
) {
  return {
    RequestType: type,
    ...(type === 'Create' && options.physicalId === undefined
      ? {}
      : { PhysicalResourceId: options.physicalId ?? ENDPOINT }),
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:framework-onEvent',
      EndpointName: ENDPOINT,
      EndpointConfigName: config,
      Schedule: options.schedule ?? JSON.stringify(SCHEDULE),
      Env: options.env ?? 'dev',
    },
    ...(options.data ? { Data: options.data } : {}),
  };
}
