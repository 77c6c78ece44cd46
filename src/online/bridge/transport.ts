/**
 * The request-reply bridge's transport seam: keyed messages with headers to a topic, and
 * a subscription to a topic's new messages. The embedded log implements it in one process
 * (embedded-transport.ts); Kafka across processes (kafka-transport.ts).
 */
export interface BridgeMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface BridgeTransport {
  /** Creates the topic when it does not exist. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  /** The topic's partition count, or undefined when it does not exist (or the transport cannot tell). */
  partitionCount?(topic: string): Promise<number | undefined>;
  /** Appends messages; a message's key picks its partition (so one entity's requests stay in order). */
  send(topic: string, messages: BridgeMessage[]): Promise<void>;
  /**
   * Hands `handler` the messages appended to `topic` from now on, batch by batch, in order
   * per partition. `group` shares the partitions among the processes that subscribe with it.
   */
  subscribe(topic: string, group: string, handler: (messages: BridgeMessage[]) => Promise<void>): Promise<Subscription>;
  close(): Promise<void>;
}

/** Header names: one request or reply per message. */
export const CORRELATION_HEADER = 'sluice-correlation-id';
export const REPLY_TOPIC_HEADER = 'sluice-reply-topic';
export const DEADLINE_HEADER = 'sluice-deadline';

/** Topic names a topology's bridge uses. */
export const requestTopic = (topology: string): string => `${topology}-requests`;
export const replyTopic = (topology: string): string => `${topology}-replies`;
