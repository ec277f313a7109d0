import { createEvent, NoticesFailed, NoticesSent, Topics, type NoticesFailedData, type NoticesSentData } from '@hashcheck/events';
import { outboxEntry, type OutboxEntry } from '@hashcheck/mongo';
import { uuidv5 } from '../domain/ids';

export const SOURCE = 'notification';

/** Event ids are derived from the notice, so a re-run of the same step emits the same event id. */
export function sentEntry(data: NoticesSentData, at: Date): OutboxEntry {
  const event = createEvent(NoticesSent, { id: uuidv5(`${data.noticeId}\nsent`), subject: data.providerId, source: SOURCE, data, occurredAt: at });
  return outboxEntry(Topics.noticesSent, event);
}

export function failedEntry(data: NoticesFailedData, at: Date, step: string | number): OutboxEntry {
  const event = createEvent(NoticesFailed, {
    id: uuidv5(`${data.noticeId}\nfailed\n${data.channel}\n${step}`),
    subject: data.providerId,
    source: SOURCE,
    data,
    occurredAt: at,
  });
  return outboxEntry(Topics.noticesFailed, event);
}
