import type { ItemKindValue } from './grouping';

/** What a notice says, in either channel. Deadlines are already computed for this attempt. */
export interface NoticeContent {
  noticeId: string;
  kind: ItemKindValue;
  provider: { id: string; name: string };
  sentAt: Date;
  requestId?: string;
  reason?: string;
  attempt?: number;
  /** Where providers confirm removal or dispute (enforcement's API), when configured. */
  respondTo?: string;
  items: ReadonlyArray<NoticeContentItem>;
}

export interface NoticeContentItem {
  reportId: string;
  caseKey: string;
  caseId?: string;
  url: string;
  deadlineAt: Date;
}

export const WEBHOOK_PAYLOAD_TYPE = 'hashcheck.takedown-notice';
export const WEBHOOK_PAYLOAD_VERSION = 1;

/**
 * The webhook body, documented in docs/notification.md. It is serialised once and those exact
 * bytes are signed, sent and hashed for the proof of delivery.
 */
export function webhookBody(content: NoticeContent): string {
  return JSON.stringify({
    type: WEBHOOK_PAYLOAD_TYPE,
    version: WEBHOOK_PAYLOAD_VERSION,
    noticeId: content.noticeId,
    kind: content.kind,
    providerId: content.provider.id,
    sentAt: content.sentAt.toISOString(),
    ...(content.requestId !== undefined ? { requestId: content.requestId } : {}),
    ...(content.reason !== undefined ? { reason: content.reason } : {}),
    ...(content.attempt !== undefined ? { attempt: content.attempt } : {}),
    ...(content.respondTo !== undefined ? { respondTo: content.respondTo } : {}),
    items: content.items.map((it) => ({
      reportId: it.reportId,
      ...(it.caseId !== undefined ? { caseId: it.caseId } : {}),
      caseKey: it.caseKey,
      url: it.url,
      deadlineAt: it.deadlineAt.toISOString(),
    })),
  });
}
