// The write-back queue: the producer (the API's event rescoring) and the consumer (the worker's write-back role)
// share the job shape, the queue name and the per-lead "last written" guard the batch write task uses too.
export * from './job.js';
export * from './queue.js';
export * from './published.js';
export * from './producer.js';
export * from './config.js';
export * from './last-written.js';
export * from './dead-letters.js';
export * from './replay.js';
export * from './metrics.js';
export {
  writeToOrg,
  historyKeyOf,
  outcomeOfError,
  type WritebackOrgClient,
  type RowOutcome,
} from './writer.js';
export {
  WritebackConsumer,
  FlushBatcher,
  startBullConsumer,
  startInProcessDrainer,
  type ConsumerHandle,
  type JobOutcome,
  type WritebackConsumerDeps,
} from './consumer.js';
