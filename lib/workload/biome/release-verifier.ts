/**
 * The read-and-verify role of an environment, in its mainline biome stack: the DevOps account's verify
 * project assumes it to read the ledger and run the integration test of a release (scripts/verify-release.ts).
 * Named, because the DevOps project names it; it trusts that project's role alone (by `aws:PrincipalArn`
 * on the DevOps account, so it can be created before or after that role). It may read the ledger,
 * start and describe executions of this biome's workflow (whose output is the integration test's
 * result), read the two parameters that locate them, and, where inference sleeps, wake the endpoint
 * (invoke its owner) when a release's model waits for it: nothing else.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { allowWildcard } from '../../common/nag';

export interface ReleaseVerifierProps {
  /** Name of the role (EnvScope.releaseVerifyRoleName). */
  readonly roleName: string;
  /** The DevOps account. */
  readonly devopsAccount: string;
  /** ARN of the DevOps verify project's role, the only principal that may assume this one. */
  readonly verifyProjectRoleArn: string;
  /** Name of the ledger table (from the shared stack's parameter). */
  readonly ledgerTableName: string;
  /** The mainline workflow. */
  readonly workflow: sfn.IStateMachine;
  /** SSM parameter names the verify tool reads (the ledger table's and the workflow's). */
  readonly parameters: readonly string[];
  /**
   * The environment's inference endpoint owner (EnvScope.inferenceEndpointFunctionName), which the
   * verify tool invokes to wake a sleeping endpoint a release's model waits for. Absent where the
   * endpoint never sleeps.
   */
  readonly inferenceOwner?: string;
}

export class ReleaseVerifier extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ReleaseVerifierProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description:
        'Biomes: the release pipeline reads the ledger and runs the integration test of this environment',
      assumedBy: new iam.AccountPrincipal(props.devopsAccount).withConditions({
        ArnEquals: { 'aws:PrincipalArn': props.verifyProjectRoleArn },
      }),
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [
          stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: props.ledgerTableName }),
        ],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunIntegrationTest',
        actions: ['states:StartExecution'],
        resources: [props.workflow.stateMachineArn],
      }),
    );
    allowWildcard(
      this.role,
      new iam.PolicyStatement({
        sid: 'ReadIntegrationTest',
        actions: ['states:DescribeExecution'],
        // Executions of this state machine only: arn:...:execution:<state machine name>:<execution>.
        resources: [
          stack.formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${stack.splitArn(props.workflow.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? ''}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
      'Execution names are chosen per release (release-verify-<commit>-<time>); the wildcard covers executions of this one state machine.',
    );
    if (props.inferenceOwner) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'WakeInference',
          actions: ['lambda:InvokeFunction'],
          resources: [
            stack.formatArn({
              service: 'lambda',
              resource: 'function',
              resourceName: props.inferenceOwner,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LocateLedgerAndWorkflow',
        actions: ['ssm:GetParameter'],
        resources: props.parameters.map((p) =>
          stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: p.replace(/^\//, '') }),
        ),
      }),
    );
  }
}
