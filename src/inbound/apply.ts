import type { Logger } from '../log.ts';
import type { ActionableEvent, ReturnEvent, ReturnSink, SinkOutcome } from './types.ts';

/** Hands one actionable event to the sink method for its kind. */
export function applyEvent(sink: ReturnSink, event: ActionableEvent): Promise<SinkOutcome> {
  switch (event.kind) {
    case 'bounce':
      return sink.bounce(event);
    case 'rejected':
      return sink.rejection(event);
    case 'complaint':
      return sink.complaint(event);
    case 'unsubscribe':
      return sink.unsubscribe(event);
  }
}

export function isActionable(event: ReturnEvent): event is ActionableEvent {
  return event.kind === 'bounce' || event.kind === 'rejected' || event.kind === 'complaint' || event.kind === 'unsubscribe';
}

/** What a log line says about an event: always the campaign id when there is one. */
export function eventFields(event: ReturnEvent): Record<string, unknown> {
  const reader = 'reader' in event ? event.reader : undefined;
  return {
    kind: event.kind,
    source: event.source,
    ...(event.kind === 'bounce' ? { severity: event.severity } : {}),
    ...('status' in event && event.status ? { status: event.status } : {}),
    ...('key' in event ? { key: event.key } : {}),
    ...(reader?.campaignId ? { campaignId: reader.campaignId } : {}),
    ...(reader?.subscriberId ? { subscriberId: reader.subscriberId } : {}),
    ...(reader?.email ? { email: reader.email } : {}),
    ...(reader ? { by: reader.by } : {}),
    ...('reason' in event ? { reason: event.reason } : {}),
  };
}

/**
 * Applies the events of one report: actionable ones go to the sink, the rest are logged.
 * Returns whether any event was unparseable, or unmatched (named its reader only by address,
 * `trust.ts`), so the receiver keeps the message for a human to look at. A sink
 * failure propagates: the receiver answers with a temporary failure and the report comes
 * again (the sink is idempotent, so events applied before the failure are not doubled).
 */
export async function applyEvents(
  events: ReturnEvent[],
  sink: ReturnSink,
  logger: Logger,
): Promise<{ unparseable: string | undefined; unmatched: string | undefined }> {
  let unparseable: string | undefined;
  let unmatched: string | undefined;
  for (const event of events) {
    if (event.kind === 'unparseable') {
      unparseable ??= event.reason;
      continue;
    }
    if (event.kind === 'ignored') {
      logger.info(eventFields(event), `return path: ignored, ${event.reason}`);
      continue;
    }
    const outcome = await applyEvent(sink, event);
    if (outcome.status === 'unmatched') {
      unmatched ??= outcome.detail ?? 'names its reader only by address';
      logger.warn({ ...eventFields(event), outcome: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}) }, `return path: ${event.kind} unmatched, no reader changed`);
      continue;
    }
    logger.info({ ...eventFields(event), outcome: outcome.status, ...(outcome.detail ? { detail: outcome.detail } : {}) }, `return path: ${event.kind} ${outcome.status}`);
  }
  return { unparseable, unmatched };
}
