/**
 * What every resource of the app gets, whoever wrote the construct, and the Control Tower rules the
 * app does not follow, each with its reason: one list, applied to the whole app by Aspects
 * (buildApp). Exceptions that belong to one resource are acknowledged next to it instead.
 */
import { Aspects, AspectPriority, CfnResource, type IAspect, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { controlTowerRule } from './control-tower';

/**
 * CT.KMS.PR.3: every key policy denies `kms:CreateGrant` unless the grant is for an AWS resource or
 * an AWS service asks. The statement is the one the rule checks (its guard file
 * ct-kms-pr-3.guard: Deny, Principal AWS *, Action kms:CreateGrant, Resource *, and only the
 * condition BoolIfExists kms:GrantIsForAWSResource "false" and aws:PrincipalIsAWSService "false").
 * Grants Biomes relies on are made by services for their resources (Aurora storage, SageMaker
 * volumes), which the condition lets through.
 */
export const DENY_GRANTS_NOT_FOR_AWS_RESOURCES = new iam.PolicyStatement({
  sid: 'DenyGrantsNotForAwsResources',
  effect: iam.Effect.DENY,
  principals: [new iam.AnyPrincipal()],
  actions: ['kms:CreateGrant'],
  resources: ['*'],
  conditions: {
    BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
  },
});

class KeyPolicyBaseline implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof kms.Key) node.addToResourcePolicy(DENY_GRANTS_NOT_FOR_AWS_RESOURCES);
  }
}

/**
 * CT.S3.PR.4: every bucket sends its events to EventBridge, natively (the bucket's own
 * NotificationConfiguration; CDK's `eventBridgeEnabled` would add a notifications Lambda). Events to
 * the default bus with no rule cost nothing; the landing bucket's rule is the deploy trigger's.
 */
class BucketEventsToEventBridge implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof s3.CfnBucket && node.notificationConfiguration === undefined) {
      node.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
    }
  }
}

/** A Control Tower rule the app does not follow, on which resources, and why. */
export interface AcceptedException {
  /** The guard rule name (the acknowledgement id is `cdk-validator-cfnguard::<rule>`). */
  readonly rule: string;
  readonly appliesTo: (resource: CfnResource) => boolean;
  readonly reason: string;
}

export const ACCEPTED_EXCEPTIONS: readonly AcceptedException[] = [
  {
    rule: 'lambda_inside_vpc_check',
    // Ours, and the handlers of CDK's own custom resource providers (plain CfnResources).
    appliesTo: (r) => r.cfnResourceType === 'AWS::Lambda::Function',
    reason:
      'Biomes functions run outside any VPC by design: they reach the database through the RDS Data API and AWS services over their public endpoints, so no NAT gateway (about $33 a month each) is ever paid, least of all by a sandpit.',
  },
  {
    rule: 's3_bucket_object_lock_enabled_check',
    appliesTo: (r) => r.cfnResourceType === 'AWS::S3::Bucket',
    reason:
      'No Object Lock: every bucket holds artifacts, models or logs that lifecycle rules and stack deletion must be able to remove (sandpits and unprotected environments leave nothing behind); integrity comes from versioning, sha256 manifests and KMS.',
  },
];

class AcknowledgeAcceptedExceptions implements IAspect {
  visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    for (const e of ACCEPTED_EXCEPTIONS) {
      if (e.appliesTo(node))
        Validations.of(node).acknowledge({ id: controlTowerRule(e.rule), reason: e.reason });
    }
  }
}

const applied = new WeakSet<IConstruct>();

/** Applies the baseline and the accepted exceptions to every resource under `scope` (once). */
export function applyCompliance(scope: IConstruct): void {
  if (applied.has(scope)) return;
  applied.add(scope);
  Aspects.of(scope).add(new KeyPolicyBaseline(), { priority: AspectPriority.MUTATING });
  Aspects.of(scope).add(new BucketEventsToEventBridge(), { priority: AspectPriority.MUTATING });
  Aspects.of(scope).add(new AcknowledgeAcceptedExceptions(), { priority: AspectPriority.MUTATING });
}
