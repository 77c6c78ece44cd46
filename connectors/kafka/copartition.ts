import { AssignerProtocol, type Cluster, type PartitionAssigner } from 'kafkajs';

/**
 * A consumer-group assignor that co-partitions: partition p of every subscribed topic goes
 * to the same member (members sorted by id, member p mod n), so topics with the same
 * partition count and the same key partitioner put one key's records, from every topic, in
 * one member. Kafka Streams co-partitions a job's input topics the same way; sluice relies
 * on it to hand the request-reply bridge's request partition p to the task that owns input
 * partition p. On topics alone it balances as round robin does.
 */
export const copartitionedAssigner: PartitionAssigner = ({ cluster }: { cluster: Cluster }) => ({
  name: 'SluiceCopartitioned',
  version: 0,
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const byMember = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const member = byMember.get(ids[partitionId % ids.length]!)!;
        (member[topic] ??= []).push(partitionId);
      }
    }
    return ids.map((memberId) => ({ memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: byMember.get(memberId)!, userData: Buffer.alloc(0) }) }));
  },
  protocol({ topics }) {
    return { name: 'SluiceCopartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
