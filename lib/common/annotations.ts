/**
 * Retiring CDK info annotations that a construct has already dealt with. aws-cdk-lib 2.276 lets
 * `Validations.acknowledge` silence warnings only; an info (`Annotations.addInfo`) always reaches the
 * CLI, which prints it on every `cdk synth --quiet` and offers an acknowledgement id that does nothing
 * for infos. So the info is removed from the construct's metadata where the decision is taken, and the
 * decision is recorded as an acknowledgement (with its reason) in the cloud assembly instead.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct, MetadataEntry } from 'constructs';

const INFO = 'aws:cdk:info';

/**
 * Removes the info annotations of `construct` whose message starts with `messageStart`, recording why.
 * Throws when there is none: an info that CDK stopped emitting must not leave a stale decision behind.
 */
export function retireInfo(construct: IConstruct, messageStart: string, reason: string): void {
  // constructs keeps metadata in a private array behind a read-only getter; no public API removes an entry.
  const node = construct.node as unknown as { _metadata?: MetadataEntry[] };
  const before = node._metadata ?? [];
  const kept = before.filter((m) => !(m.type === INFO && String(m.data).startsWith(messageStart)));
  if (kept.length === before.length) {
    throw new Error(
      `${construct.node.path}: no info annotation starts with "${messageStart}"; remove the retireInfo call`,
    );
  }
  node._metadata = kept;
  Validations.of(construct).acknowledge({
    id: 'Annotation::info-annotation',
    reason: `${messageStart}...: ${reason}`,
  });
}
