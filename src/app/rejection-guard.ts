/**
 * A process-wide `unhandledRejection` handler for processes that run a campaign worker
 * (`depesche worker`, and `depesche dev` with its worker in process). A rejection nobody
 * handled must neither end the process (every message in flight would turn unclear, and
 * dev would lose its apps with it) nor pass in silence: it is charged to the batch it arose
 * in, which fails and is retried by BullMQ, and logged with that campaign and batch.
 */

/** Where the batch code charges a rejection: `failCurrentBatch` from campaign/batch.ts. */
export type ChargeRejection = (reason: unknown) => { campaignId: string; batchNo: number } | undefined;

/** pino's argument order: fields first, then the message. */
export type RejectionLog = (fields: Record<string, unknown>, message: string) => void;

/**
 * Installs the handler and returns its removal. The batch module comes in as an argument,
 * so a process can install the guard before loading the worker's modules, or after.
 */
export function guardRejections(log: RejectionLog, charge: ChargeRejection): () => void {
  const onRejection = (reason: unknown): void => {
    const batch = charge(reason);
    const err = reason instanceof Error ? reason : String(reason);
    if (batch) log({ err, campaign: batch.campaignId, batch: batch.batchNo }, 'unhandled rejection; failing its batch');
    else log({ err }, 'unhandled rejection outside any batch');
  };
  process.on('unhandledRejection', onRejection);
  return () => void process.off('unhandledRejection', onRejection);
}
