/**
 * What a sandpit stack tells its environment about itself (docs/design.md "Sandpit lifecycle"):
 * - the custom resource `Custom::SandpitDeploy`, served by the shared ledger recorder
 *   (lib/workload/shared/sandpit-ledger.ts): each CDK deploy that changes the stack (its code, its
 *   commit, its owner or lifetime) records in the ledger source `cdk`, the commit and dirty flag, the
 *   versions alias `live` now points at, the owner and the expiry. Its properties change exactly when
 *   what is live changes (the version numbers are `Fn::GetAtt`s of the versions), so CloudFormation
 *   sends an Update then and only then;
 * - the owner's email subscription to the environment's owners topic, filtered on the biome, so expiry
 *   notices and failed deploys reach the owner (and go with the stack);
 * - the `commit` tag of each function: the commit CDK deployed, with `-dirty` for a changed tree.
 */
import { CustomResource, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PROPERTY, RESOURCE_TYPE, UNKNOWN_COMMIT } from '../../../lambda/sandpit-ledger/properties';
import { TAGS } from '../../../lambda/shared/contracts';
import { OWNER_NOTICE_ATTRIBUTE } from '../../../lambda/shared/sandpit';
import type { BiomeScope } from '../../../lambda/shared/scope';
import type { Microservice } from './microservice';

export interface SandpitRecordProps {
  readonly names: BiomeScope;
  readonly owner: string;
  readonly ttlDays: number;
  readonly keep: boolean;
  readonly commit?: string;
  readonly dirty: boolean;
  readonly services: Readonly<Record<string, Microservice>>;
  /** The recorder's service token (shared parameter). */
  readonly serviceToken: string;
  /** The owners topic (shared parameter). */
  readonly ownersTopicArn: string;
}

export class SandpitRecord extends Construct {
  readonly resource: CustomResource;
  readonly subscription: sns.Subscription;

  constructor(scope: Construct, id: string, props: SandpitRecordProps) {
    super(scope, id);
    const { names } = props;
    const commit = props.commit ?? UNKNOWN_COMMIT;
    const services = Object.fromEntries(
      Object.entries(props.services).map(([name, service]) => [
        name,
        { functionName: service.function.functionName, version: service.live.version.version },
      ]),
    );
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: props.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: {
        [PROPERTY.app]: names.app,
        [PROPERTY.env]: names.env,
        [PROPERTY.biome]: names.biome,
        [PROPERTY.owner]: props.owner,
        [PROPERTY.ttlDays]: String(props.ttlDays),
        [PROPERTY.keep]: String(props.keep),
        [PROPERTY.commit]: commit,
        [PROPERTY.dirty]: String(props.dirty),
        [PROPERTY.services]: Stack.of(this).toJsonString(services),
      },
      // Its Delete records nothing (the stack's DELETE_COMPLETE event does), so there is nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Recorded once every alias has moved.
    for (const service of Object.values(props.services)) this.resource.node.addDependency(service.live);

    this.subscription = new sns.Subscription(this, 'OwnerNotices', {
      topic: sns.Topic.fromTopicArn(this, 'OwnersTopic', props.ownersTopicArn),
      protocol: sns.SubscriptionProtocol.EMAIL,
      endpoint: props.owner,
      filterPolicy: {
        [OWNER_NOTICE_ATTRIBUTE]: sns.SubscriptionFilter.stringFilter({ allowlist: [names.biome] }),
      },
    });

    Validations.of(this.subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'An email subscription: a notice SNS cannot deliver after its retries is dropped, and what it said is in the ledger (the outcome, the sandpit record), which the owner can query; a dead-letter queue per sandpit would cost a queue for nothing anyone reads.',
    });

    for (const service of Object.values(props.services)) {
      Tags.of(service.function).add(TAGS.commit, props.dirty ? `${commit}-dirty` : commit);
    }
  }
}
