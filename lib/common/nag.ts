/**
 * The one way Biomes acknowledges cdk-nag `AwsSolutions-IAM5` (wildcard) findings. cdk-nag 3 matches
 * an acknowledgement against the full finding id (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`), so
 * every acknowledgement here names exactly the wildcard it accepts, and a wildcard added later by
 * someone else still fails the check. Three entry points, one mechanism:
 * - {@link allowWildcard}: add a statement whose resource is a deliberate wildcard, with its reason;
 * - {@link acknowledgePolicyWildcards}: the wildcards a role's policy has *now* (CDK-generated grants);
 * - {@link acknowledgeWildcards}: findings named explicitly (grants made on another construct).
 */
import { CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { rules } from 'cdk-nag';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

const IAM5 = 'AwsSolutions-IAM5';

/** Acknowledges each named IAM5 finding (`Resource::...` or `Action::...`) on `scope` with one reason. */
export function acknowledgeWildcards(scope: IConstruct, findings: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(...[...new Set(findings)].map((f) => ({ id: `${IAM5}[${f}]`, reason })));
}

/**
 * Adds `statement` to `role`'s policy and acknowledges the wildcard of each of its resources, with
 * why it is as narrow as it can be.
 */
export function allowWildcard(role: iam.Role, statement: iam.PolicyStatement, reason: string): void {
  role.addToPolicy(statement);
  const stack = Stack.of(role);
  acknowledgeWildcards(
    role,
    statement.resources.map((r) => `Resource::${flattenCfnReference(stack.resolve(r))}`),
    reason,
  );
}

/**
 * Acknowledges, with `reason`, exactly the IAM5 findings that `role`'s default policy has now. Call it
 * after adding the statements it vouches for.
 */
export function acknowledgePolicyWildcards(role: iam.Role, reason: string): void {
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
  if (!(policy instanceof iam.CfnPolicy)) return;
  const findings = rules.iam.IAMNoWildcardPermissions(policy);
  if (!Array.isArray(findings)) return;
  Validations.of(policy).acknowledge(...findings.map((f) => ({ id: `${IAM5}[${f}]`, reason })));
}

/** How cdk-nag writes a reference to `construct` (its CloudFormation resource) in a finding id. */
function ref(construct: IConstruct, attribute?: string): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to reference`);
  }
  const id = Stack.of(element).resolve(Stack.of(element).getLogicalId(element)) as string;
  return attribute ? `<${id}.${attribute}>` : `<${id}>`;
}

function literalOr(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

/** `Resource::<Bucket.Arn>/*`: every object of a bucket. */
export function objectsOf(bucket: s3.IBucket): string {
  return `Resource::${ref(bucket, 'Arn')}/*`;
}

/** The wildcards of CDK's read/write grant on a pipeline artifact bucket and its key. */
export function artifactGrantFindings(bucket: s3.IBucket): string[] {
  return [
    'Action::s3:GetObject*',
    'Action::s3:GetBucket*',
    'Action::s3:List*',
    'Action::s3:DeleteObject*',
    'Action::s3:Abort*',
    'Action::kms:GenerateDataKey*',
    'Action::kms:ReEncrypt*',
    objectsOf(bucket),
  ];
}

/** The wildcards of CodeBuild's default grant on its own log streams and report groups. */
export function codeBuildDefaultFindings(project: codebuild.IProject): string[] {
  const stack = Stack.of(project);
  const partition = literalOr(stack.partition, 'AWS::Partition');
  const region = literalOr(stack.region, 'AWS::Region');
  const account = literalOr(stack.account, 'AWS::AccountId');
  const name = ref(project);
  return [
    `Resource::arn:${partition}:logs:${region}:${account}:log-group:/aws/codebuild/${name}:*`,
    `Resource::arn:${partition}:codebuild:${region}:${account}:report-group/${name}-*`,
  ];
}
