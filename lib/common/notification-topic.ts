import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface TopicPublisher {
  readonly service: string;
  readonly conditions: (stack: Stack) => Record<string, Record<string, string>>;
}

/** Services that publish to Biomes topics, with the key-policy conditions each supports. */
export const PUBLISHERS = {
  /** Pipeline notification rules; AWS's example key policy for them scopes by `kms:ViaService` SNS. */
  codestarNotifications: {
    service: 'codestar-notifications.amazonaws.com',
    conditions: (stack) => ({ StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } }),
  },
  /**
   * CloudWatch alarm actions. CloudWatch is not a forward-access session, so `kms:ViaService` would
   * never match and alarms would be dropped; it does send `aws:SourceAccount` (confused-deputy guard).
   */
  cloudwatchAlarms: {
    service: 'cloudwatch.amazonaws.com',
    conditions: (stack) => ({ StringEquals: { 'aws:SourceAccount': stack.account } }),
  },
} satisfies Record<string, TopicPublisher>;

export interface NotificationTopicProps {
  readonly displayName: string;
  /**
   * AWS services that publish to the topic and so must use its key, each with the conditions that
   * service documents for an encrypted topic (they differ: see `PUBLISHERS`).
   */
  readonly publishers: readonly TopicPublisher[];
  /**
   * Address subscribed to the topic.
   * @default - no subscription
   */
  readonly email?: string;
  /**
   * What happens to the key when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A fixed name, where another account's policy must name the topic.
   * @default - a CloudFormation-generated name
   */
  readonly topicName?: string;
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
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const publisher of props.publishers) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(publisher.service)],
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: ['*'],
          conditions: publisher.conditions(Stack.of(this)),
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      ...(props.topicName ? { topicName: props.topicName } : {}),
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
