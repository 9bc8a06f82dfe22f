import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface NotificationTopicProps {
  readonly displayName: string;
  /** AWS services that publish to the topic (and so must use its key, through SNS only). */
  readonly publishers: readonly iam.ServicePrincipal[];
  /**
   * Address subscribed to the topic.
   * @default - no subscription
   */
  readonly email?: string;
}

/**
 * An SNS topic for people: KMS-encrypted with its own rotating key, TLS-only, optionally emailed.
 * Used by the DevOps account (pipeline failures, approvals) and each workload account (deploy
 * failures that reached the dead-letter queue).
 */
export class NotificationTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Biomes notifications: ${props.displayName}`,
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [...props.publishers],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
