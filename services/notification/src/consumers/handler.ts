import { CasesClosed, NoticesRequested, ReportsMatched, Topics, type CasesClosedData, type EventEnvelope, type NoticesRequestedData, type ReportsMatchedData } from '@hashcheck/events';
import type { EventHandler } from '@hashcheck/kafka';
import type { NoticeInbox } from '../notices/inbox';
import type { VictimRegistry } from '../victims/registry';

export const CONSUMED_TOPICS = [Topics.reportsMatched, Topics.noticesRequested, Topics.casesClosed];

function is(event: EventEnvelope, def: { type: string; version: number }): boolean {
  return event.type === def.type && event.version === def.version;
}

/**
 * One consumer group over the three inputs. Every effect is keyed deterministically (item keys,
 * victim case keys), so a redelivery or a replay from the beginning changes nothing. Database
 * errors are retriable and rethrown, so the broker redelivers.
 */
export function notificationHandler(deps: { inbox: NoticeInbox; victims: VictimRegistry; kick: () => void }): EventHandler {
  return async (event) => {
    if (is(event, ReportsMatched)) {
      const d = event.data as ReportsMatchedData;
      await deps.inbox.onMatched(event.id, d);
      if (d.matches.some((m) => m.seriesId)) await deps.victims.onMatched(d);
    } else if (is(event, NoticesRequested)) {
      await deps.inbox.onRequested(event.id, event.data as NoticesRequestedData);
      // Re-notices wait for no window by default: look for them now rather than at the next poll.
      deps.kick();
    } else if (is(event, CasesClosed)) {
      const d = event.data as CasesClosedData;
      await deps.inbox.onCaseClosed(d);
      await deps.victims.onCaseClosed(d);
    }
  };
}
