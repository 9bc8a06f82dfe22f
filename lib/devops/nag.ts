/**
 * Helpers for acknowledging cdk-nag `AwsSolutions-IAM5` (wildcard) findings one by one. cdk-nag 3
 * matches an acknowledgement against the full finding id (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`),
 * so each acknowledgement names exactly the wildcard it accepts, and a new wildcard still fails.
 */
import { CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

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

/** Acknowledges each named IAM5 finding on `scope` (and its children) with one reason. */
export function acknowledgeWildcards(scope: IConstruct, findings: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(
    ...[...new Set(findings)].map((f) => ({ id: `AwsSolutions-IAM5[${f}]`, reason })),
  );
}
