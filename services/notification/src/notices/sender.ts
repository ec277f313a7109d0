import type { Collection, Db, UpdateFilter } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import type { NoticeItemValue } from '@hashcheck/events';
import type { OutboxEntry, OutboxHint } from '@hashcheck/mongo';
import { decryptSecret, type Provider } from '@hashcheck/providers';
import { backoffDelayMs } from '../domain/backoff';
import type { Clock } from '../domain/clock';
import { deadlineFor } from '../domain/deadline';
import {
  ChannelName,
  channelsFor,
  classifyHttpStatus,
  classifyNetworkError,
  classifySmtpError,
  currentChannel,
  decideAfterAttempt,
  smtpReplyCode,
  type AttemptResult,
  type ChannelValue,
  type Step,
} from '../domain/delivery';
import { sha256Hex } from '../domain/ids';
import { webhookBody, type NoticeContent } from '../domain/payload';
import { checkWebhookUrl } from '../domain/ssrf';
import { languageFor, renderNoticeEmail } from '../domain/templates';
import { composeMail, type Mailer } from '../channels/email';
import type { WebhookClient } from '../channels/webhook';
import type { NotificationSettings } from '../settings';
import {
  Collections,
  NoticeState,
  type AttemptRecord,
  type ClosedCaseDocument,
  type DroppedItemRecord,
  type FailureRecord,
  type NoticeDocument,
  type NoticeItemRecord,
  type PayloadDocument,
  type StepDocument,
} from '../store/collections';
import { Leases, type Lease } from '../store/leases';
import { failedEntry, sentEntry } from './events';
import { recordNoticeStep } from '../metrics';
import { Attr, Step as TraceStep, withOrigins } from '@hashcheck/telemetry';

export interface ProviderLookup {
  get(id: string): Provider | undefined;
}

export interface SenderDeps {
  db: Db;
  settings: NotificationSettings;
  clock: Clock;
  random: () => number;
  providers: ProviderLookup;
  webhook: WebhookClient;
  mailer: Mailer | undefined;
  workerId: string;
  logger: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void; error: (o: object, m: string) => void };
  /** Wakes the outbox relay for the step document just written (see OutboxHint). */
  notifyOutbox: (hint: OutboxHint) => void;
  /** Called after a notice is recorded as sent (victim tracking). */
  onSent?: (notice: NoticeDocument, caseIds: string[], at: Date) => Promise<void>;
}

const NO_WEBHOOK = 'no webhook configured';

interface AttemptOutput {
  record: AttemptRecord;
  result: AttemptResult;
  items: NoticeItemRecord[];
  contact: string;
  startedAt: Date;
}

/** How often a notice whose look-ups are spent looks for its provider until PROVIDER_LOOKUP_MIN_MS is over. */
const PROVIDER_LOOK_MS = 60_000;

/**
 * Sends due notices. A notice is claimed with an atomic lease before anything is sent, so two
 * workers (or two instances) never send the same notice at the same time; every outcome is
 * written in one update of the notice document, together with the events it causes (embedded
 * outbox), and only by the lease holder.
 */
export class NoticeSender {
  readonly #notices: Collection<NoticeDocument>;
  readonly #steps: Collection<StepDocument>;
  readonly #payloads: Collection<PayloadDocument>;
  readonly #closed: Collection<ClosedCaseDocument>;
  readonly #leases: Leases;
  /** Notices a lane of this process holds, so the other lanes do not queue up behind the same one. */
  readonly #inFlight = new Set<string>();

  constructor(private readonly deps: SenderDeps) {
    this.#notices = deps.db.collection<NoticeDocument>(Collections.NOTICES);
    this.#steps = deps.db.collection<StepDocument>(Collections.STEPS);
    this.#payloads = deps.db.collection<PayloadDocument>(Collections.PAYLOADS);
    this.#closed = deps.db.collection<ClosedCaseDocument>(Collections.CLOSED_CASES);
    this.#leases = new Leases(deps.db, deps.workerId);
  }

  /** Sends until nothing is due, with the configured concurrency; returns the notices handled. */
  async runOnce(shouldStop: () => boolean = () => false): Promise<number> {
    let handled = 0;
    const lane = async (): Promise<void> => {
      while (!shouldStop()) {
        const claimed = await this.claim();
        if (!claimed) return;
        handled++;
        try {
          await this.process(claimed.notice, claimed.lease);
        } catch (err) {
          // The lease runs out and the notice is picked up again; nothing was recorded as sent.
          this.deps.logger.error({ err, noticeId: claimed.notice._id }, 'sending a notice failed unexpectedly; will retry after the lease');
        } finally {
          this.#inFlight.delete(claimed.notice._id);
        }
      }
    };
    // Every lane finishes before the pass does, even when one fails: the next pass (or the
    // shutdown) must not start while a lane still sends.
    const lanes = await Promise.allSettled(Array.from({ length: this.deps.settings.concurrency }, lane));
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    return handled;
  }

  /**
   * Takes the lease on the next due notice at its current version. A step another holder recorded
   * but did not apply (it stopped in between) is applied here instead of sending again.
   */
  async claim(): Promise<{ notice: NoticeDocument; lease: Lease } | undefined> {
    const now = this.deps.clock.now();
    const due = await this.#notices
      .find({ state: NoticeState.PENDING, nextAttemptAt: { $lte: now } }, { projection: { _id: 1, version: 1 } })
      .sort({ nextAttemptAt: 1 })
      .limit(this.deps.settings.concurrency * 4)
      .toArray();
    for (const candidate of due) {
      if (this.#inFlight.has(candidate._id)) continue;
      this.#inFlight.add(candidate._id);
      let claimed: { notice: NoticeDocument; lease: Lease } | undefined;
      try {
        claimed = await this.#take(candidate, now);
      } finally {
        // Only a claim handed to a lane stays in flight (the lane forgets it when done). A claim
        // that failed halfway (the database gone) must not stay: this process would skip the
        // notice for as long as it runs, and with one instance it was never sent (D12).
        if (!claimed) this.#inFlight.delete(candidate._id);
      }
      if (claimed) return claimed;
    }
    return undefined;
  }

  async #take(candidate: Pick<NoticeDocument, '_id' | 'version'>, now: Date): Promise<{ notice: NoticeDocument; lease: Lease } | undefined> {
    const lease = await this.#leases.acquire(`notice:${candidate._id}:${candidate.version}`, now, this.deps.settings.leaseMs);
    if (!lease) return undefined;
    const notice = await this.#notices.findOne({ _id: candidate._id });
    const recorded = notice ? await this.#steps.findOne({ _id: stepId(notice._id, notice.version + 1) }) : null;
    if (notice && recorded) {
      // Its writer stopped before applying it, maybe before its relay published: read it by _id.
      if ((recorded.outbox?.length ?? 0) > 0) this.deps.notifyOutbox({ collection: Collections.STEPS, id: recorded._id });
      await this.#apply(recorded);
    }
    if (!notice || recorded || notice.version !== candidate.version || notice.state !== NoticeState.PENDING) {
      await this.#leases.release(lease);
      return undefined;
    }
    return { notice, lease };
  }

  /** Delivery continues the trace of the notice's first report and links the others (TraceStep.DELIVER). */
  async process(notice: NoticeDocument, lease: Lease): Promise<void> {
    await withOrigins(TraceStep.DELIVER, notice.items.map((i) => i.trace), { [Attr.NOTICE_ID]: notice._id, ...(notice.providerId ? { [Attr.PROVIDER_ID]: notice.providerId } : {}) }, () => this.#process(notice, lease));
  }

  async #process(notice: NoticeDocument, lease: Lease): Promise<void> {
    const { settings, clock } = this.deps;
    const now = clock.now();
    if (await this.#dropClosedCases(notice, lease, now)) return;
    if (notice.providerId === null) {
      // No provider id means no one to notify and nothing enforcement could be told about (the
      // contract's notices.failed needs a provider id); the record stays for case officers.
      this.deps.logger.warn({ noticeId: notice._id, items: notice.items.length }, 'notice has no provider: undeliverable');
      await this.#commit(notice, lease, { state: NoticeState.UNDELIVERABLE, nextAttemptAt: null, undeliverableReason: 'no hosting provider was resolved for these URLs' }, [], []);
      return;
    }
    const provider = this.deps.providers.get(notice.providerId);
    if (!provider) {
      const lookups = notice.lookupAttempts + 1;
      const waited = now.getTime() - notice.createdAt.getTime();
      if (lookups < settings.providerLookupAttempts || waited < settings.providerLookupMinMs) {
        // Tries spent, the shortest wait not yet over: a look a minute until it is (a jittered
        // backoff can come out near 0, and a pass would then take the notice again at once).
        const delay = lookups < settings.providerLookupAttempts
          ? backoffDelayMs(lookups, settings.backoff.webhook, this.deps.random)
          : Math.min(settings.providerLookupMinMs - waited, PROVIDER_LOOK_MS);
        await this.#commit(notice, lease, { lookupAttempts: lookups, nextAttemptAt: new Date(now.getTime() + delay) }, [], []);
        return;
      }
      const reason = `provider ${notice.providerId} is not in the provider registry (unknown or deleted)`;
      await this.#undeliverable(notice, lease, ChannelName.EMAIL, undefined, reason, now, [], []);
      return;
    }

    const contact = {
      ...(provider.webhook?.url ? { webhookUrl: provider.webhook.url } : {}),
      webhookHasSecret: provider.webhook?.secret !== undefined,
      emails: provider.abuseContacts,
    };
    const availability = channelsFor(contact, {
      smtpConfigured: this.deps.mailer !== undefined,
      webhookVerdict: (url) => {
        if (settings.secretKeys.length === 0) return 'the webhook secret cannot be decrypted: PROVIDER_SECRET_KEY is not set';
        const v = checkWebhookUrl(url, { allowHttp: settings.webhook.allowHttp, allowList: settings.webhook.allowList });
        return v.ok ? undefined : v.reason;
      },
    });

    // A configured webhook that cannot be used is a failure worth reporting, once per notice.
    const failures: FailureRecord[] = [];
    const outbox: OutboxEntry[] = [];
    const givenUp = [...notice.givenUp];
    const webhookUnusable = availability.unusable.find((u) => u.channel === ChannelName.WEBHOOK && u.reason !== NO_WEBHOOK);
    const channel = currentChannel(availability, [...givenUp, ...(webhookUnusable ? [ChannelName.WEBHOOK] : [])]);
    if (webhookUnusable && !givenUp.includes(ChannelName.WEBHOOK)) {
      givenUp.push(ChannelName.WEBHOOK);
      if (channel) {
        failures.push({ channel: ChannelName.WEBHOOK, reason: webhookUnusable.reason, at: now, final: true, undeliverable: false });
        outbox.push(failedEntry({ noticeId: notice._id, providerId: provider.id, channel: ChannelName.WEBHOOK, contact: provider.webhook!.url, reason: webhookUnusable.reason, final: true, undeliverable: false, failedAt: now.toISOString() }, now, 'unusable'));
      }
    }
    if (!channel) {
      const reasons = [...notice.failures.map((f) => `${f.channel}: ${f.reason}`), ...availability.unusable.filter((u) => !notice.givenUp.includes(u.channel)).map((u) => `${u.channel}: ${u.reason}`)];
      // Name the channel that was configured: the refused webhook when there is no e-mail address.
      const last = notice.givenUp.at(-1) ?? (webhookUnusable && provider.abuseContacts.length === 0 ? ChannelName.WEBHOOK : ChannelName.EMAIL);
      await this.#undeliverable(notice, lease, last, undefined, `no usable channel: ${reasons.join('; ')}`, now, failures, outbox, givenUp);
      return;
    }

    const channelAttempts = (notice.channel === channel ? notice.channelAttempts : 0) + 1;
    const out = channel === ChannelName.WEBHOOK ? await this.#attemptWebhook(notice, provider) : await this.#attemptEmail(notice, provider);
    const step = decideAfterAttempt({ channel, attemptsOnChannel: channelAttempts, result: out.result, availability, givenUp, policies: settings.backoff, random: this.deps.random });
    await this.#record(notice, lease, provider, channel, channelAttempts, out, step, givenUp, failures, outbox);
  }

  /**
   * Before every attempt: items whose case closed (NoticeInbox#onCaseClosed) are taken out of the
   * notice in a step of their own. With items left the notice stays due and the next claim sends
   * the rest, so no payload, e-mail or `notices.sent` names a closed case; with none left the
   * notice is cancelled without sending. Nothing is emitted for dropped items, as for items
   * cancelled in their window: enforcement closed the case itself and waits for nothing.
   */
  async #dropClosedCases(notice: NoticeDocument, lease: Lease, now: Date): Promise<boolean> {
    const caseIds = [...new Set(notice.items.flatMap((it) => (it.caseId ? [it.caseId] : [])))];
    if (caseIds.length === 0) return false;
    const closed = new Map((await this.#closed.find({ _id: { $in: caseIds } }).toArray()).map((c) => [c._id, c]));
    if (closed.size === 0) return false;
    const outcomeOf = (it: NoticeItemRecord) => (it.caseId ? closed.get(it.caseId)?.outcome : undefined);
    const kept = notice.items.filter((it) => outcomeOf(it) === undefined);
    const dropped: DroppedItemRecord[] = notice.items.flatMap((it) => {
      const outcome = outcomeOf(it);
      return outcome ? [{ ...it, closedOutcome: outcome, droppedAt: now }] : [];
    });
    const set: Partial<NoticeDocument> = { items: kept, droppedItems: [...(notice.droppedItems ?? []), ...dropped] };
    const summary = { noticeId: notice._id, providerId: notice.providerId, dropped: dropped.map((d) => ({ caseId: d.caseId, outcome: d.closedOutcome })), left: kept.length };
    if (kept.length === 0) {
      const outcomes = [...new Set(dropped.map((d) => d.closedOutcome))].sort().join(', ');
      Object.assign(set, { state: NoticeState.CANCELLED, nextAttemptAt: null, cancelledReason: `every case closed before delivery (${outcomes})` });
      this.deps.logger.info(summary, 'notice cancelled: every case closed before delivery');
    } else {
      this.deps.logger.info(summary, 'closed cases dropped from notice before delivery');
    }
    await this.#commit(notice, lease, set, [], []);
    return true;
  }

  #content(notice: NoticeDocument, provider: Provider, startedAt: Date): { content: NoticeContent; items: NoticeItemRecord[] } {
    const items = notice.items.map((it) => ({ ...it, deadlineAt: deadlineFor(startedAt, provider.category, this.deps.settings.deadlines, it.fixedDeadlineAt) }));
    const content: NoticeContent = {
      noticeId: notice._id,
      kind: notice.kind,
      provider: { id: provider.id, name: provider.name },
      sentAt: startedAt,
      ...(notice.requestId ? { requestId: notice.requestId } : {}),
      ...(notice.reason ? { reason: notice.reason } : {}),
      ...(notice.requestAttempt !== undefined ? { attempt: notice.requestAttempt } : {}),
      ...(this.deps.settings.respondTo ? { respondTo: this.deps.settings.respondTo } : {}),
      items: items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, ...(it.caseId ? { caseId: it.caseId } : {}), url: it.url, deadlineAt: it.deadlineAt })),
    };
    return { content, items };
  }

  async #keepPayload(noticeId: string, n: number, contentType: string, bytes: Buffer, sha256: string, at: Date): Promise<void> {
    // Written before sending: whatever happens next, the exact bytes behind the hash are on record.
    // Insert-only, one document per distinct body (the id names its hash): a holder that sent and
    // stopped before recording the attempt left the bytes the provider acted on under the same n,
    // and the next holder's try (new sentAt, new deadlines) must not replace them. A duplicate key
    // means these very bytes are stored already.
    try {
      await this.#payloads.insertOne({ _id: payloadId(noticeId, n, sha256), noticeId, n, contentType, sha256, bytes, createdAt: at });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  async #attemptWebhook(notice: NoticeDocument, provider: Provider): Promise<AttemptOutput> {
    const startedAt = this.deps.clock.now();
    const n = notice.attempts.length + 1;
    const url = provider.webhook!.url;
    const { content, items } = this.#content(notice, provider, startedAt);
    let secret: string;
    try {
      secret = decryptSecret(provider.webhook!.secret!, this.deps.settings.secretKeys, provider.id);
    } catch (err) {
      const reason = (err as Error).message;
      return { result: { ok: false, retriable: false, reason }, items, contact: url, startedAt, record: { n, channel: ChannelName.WEBHOOK, target: url, startedAt, finishedAt: this.deps.clock.now(), outcome: 'failed', error: reason, retriable: false } };
    }
    const body = Buffer.from(webhookBody(content), 'utf8');
    const sha = sha256Hex(body);
    await this.#keepPayload(notice._id, n, 'application/json', body, sha, startedAt);
    const res = await this.deps.webhook.post({ url, body: body.toString('utf8'), secret, noticeId: notice._id, at: startedAt });
    const finishedAt = this.deps.clock.now();
    const base = { n, channel: ChannelName.WEBHOOK, target: url, startedAt, finishedAt, payloadSha256: sha, payloadBytes: body.length } as const;
    if (res.ok) {
      const result = classifyHttpStatus(res.answer.status);
      return {
        result, items, contact: url, startedAt,
        record: {
          ...base,
          outcome: result.ok ? 'delivered' : 'failed',
          httpStatus: res.answer.status,
          ...(res.answer.receipt ? { receipt: res.answer.receipt } : {}),
          responseSha256: res.answer.responseSha256,
          responseSnippet: res.answer.responseSnippet,
          ...(result.ok ? {} : { error: result.reason, retriable: result.retriable }),
        },
      };
    }
    const result = classifyNetworkError(res.error);
    return { result, items, contact: url, startedAt, record: { ...base, outcome: 'failed', error: result.ok ? '' : result.reason, retriable: !result.ok && result.retriable } };
  }

  async #attemptEmail(notice: NoticeDocument, provider: Provider): Promise<AttemptOutput> {
    const { settings } = this.deps;
    const startedAt = this.deps.clock.now();
    const n = notice.attempts.length + 1;
    const to = provider.abuseContacts;
    const contact = to.join(', ');
    const { content, items } = this.#content(notice, provider, startedAt);
    const mail = renderNoticeEmail(content, languageFor(settings.language, provider.country));
    // One Message-ID per notice: a repeated delivery of the same notice is recognisable as such.
    const messageId = `<${notice._id}@${settings.mail.messageIdDomain}>`;
    const raw = await composeMail({
      from: settings.mail.from,
      to,
      ...(settings.mail.replyTo ? { replyTo: settings.mail.replyTo } : {}),
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId,
      date: startedAt,
      headers: { 'X-HashCheck-Notice-Id': notice._id },
      attachments: [{ filename: mail.csvFilename, content: mail.csv, contentType: 'text/csv; charset=utf-8' }],
    });
    const sha = sha256Hex(raw);
    await this.#keepPayload(notice._id, n, 'message/rfc822', raw, sha, startedAt);
    const res = await this.deps.mailer!.send(raw, { from: settings.mail.from, to });
    const finishedAt = this.deps.clock.now();
    const base = { n, channel: ChannelName.EMAIL, target: contact, startedAt, finishedAt, payloadSha256: sha, payloadBytes: raw.length, messageId } as const;
    if (res.ok) {
      const code = smtpReplyCode(res.receipt.response);
      return {
        result: { ok: true }, items, contact, startedAt,
        record: { ...base, outcome: 'delivered', smtpResponse: res.receipt.response.slice(0, 1000), ...(code ? { smtpCode: code } : {}), accepted: res.receipt.accepted, rejected: res.receipt.rejected },
      };
    }
    const result = classifySmtpError(res.error);
    const err = res.error as { response?: unknown; responseCode?: unknown };
    return {
      result, items, contact, startedAt,
      record: {
        ...base,
        outcome: 'failed',
        ...(typeof err?.response === 'string' ? { smtpResponse: err.response.slice(0, 1000) } : {}),
        ...(typeof err?.responseCode === 'number' ? { smtpCode: err.responseCode } : {}),
        error: result.ok ? '' : result.reason,
        retriable: !result.ok && result.retriable,
      },
    };
  }

  async #record(
    notice: NoticeDocument,
    lease: Lease,
    provider: Provider,
    channel: ChannelValue,
    channelAttempts: number,
    out: AttemptOutput,
    step: Step,
    givenUp: ChannelValue[],
    failures: FailureRecord[],
    outbox: OutboxEntry[],
  ): Promise<void> {
    const now = this.deps.clock.now();
    const attemptNo = out.record.n;
    const noticeItems = (items: NoticeItemRecord[]): NoticeItemValue[] =>
      items.map((it) => ({ reportId: it.reportId, caseKey: it.caseKey, ...(it.caseId ? { caseId: it.caseId } : {}), url: it.url, deadlineAt: (it.deadlineAt ?? now).toISOString() }));
    switch (step.kind) {
      case 'sent': {
        const r = out.record;
        outbox.push(sentEntry({
          noticeId: notice._id,
          providerId: provider.id,
          contact: out.contact.slice(0, 2048),
          channel,
          items: noticeItems(out.items),
          sentAt: out.startedAt.toISOString(),
          attempt: attemptNo,
          ...(notice.requestId ? { requestId: notice.requestId } : {}),
          deliveryProof: {
            channel,
            status: channel === ChannelName.WEBHOOK ? 'delivered' : 'accepted',
            ...(r.messageId ?? r.receipt ? { messageId: (r.messageId ?? r.receipt)!.slice(0, 500) } : {}),
            payloadSha256: r.payloadSha256!,
            ...(r.httpStatus ?? r.smtpCode ? { responseCode: (r.httpStatus ?? r.smtpCode)! } : {}),
            at: r.finishedAt.toISOString(),
          },
        }, now));
        const ok = await this.#commit(notice, lease, {
          state: NoticeState.SENT,
          sentAt: out.startedAt,
          deliveredVia: channel,
          contact: out.contact,
          items: out.items,
          channel,
          channelAttempts,
          givenUp,
          nextAttemptAt: null,
        }, failures, outbox, out.record);
        if (ok) {
          this.deps.logger.info({ noticeId: notice._id, providerId: provider.id, channel, items: out.items.length, attempt: attemptNo }, 'notice sent');
          const caseIds = out.items.flatMap((it) => (it.caseId ? [it.caseId] : []));
          await this.deps.onSent?.(notice, caseIds, out.startedAt);
        }
        return;
      }
      case 'retry':
        await this.#commit(notice, lease, { channel, channelAttempts, givenUp, nextAttemptAt: new Date(now.getTime() + step.delayMs) }, failures, outbox, out.record);
        return;
      case 'fallback': {
        failures.push({ channel, reason: step.reason, at: now, final: true, undeliverable: false });
        outbox.push(failedEntry({ noticeId: notice._id, providerId: provider.id, channel, contact: out.contact.slice(0, 2048), reason: step.reason.slice(0, 2000), final: true, undeliverable: false, attempt: attemptNo, failedAt: now.toISOString() }, now, attemptNo));
        this.deps.logger.warn({ noticeId: notice._id, channel, next: step.next, reason: step.reason }, 'channel given up; falling back');
        await this.#commit(notice, lease, { channel: step.next, channelAttempts: 0, givenUp: [...givenUp, channel], nextAttemptAt: now }, failures, outbox, out.record);
        return;
      }
      case 'undeliverable':
        await this.#undeliverable(notice, lease, channel, out.contact, step.reason, now, failures, outbox, [...givenUp, channel], out.record, out.items);
        return;
    }
  }

  async #undeliverable(
    notice: NoticeDocument,
    lease: Lease,
    channel: ChannelValue,
    contact: string | undefined,
    reason: string,
    now: Date,
    failures: FailureRecord[],
    outbox: OutboxEntry[],
    givenUp: ChannelValue[] = notice.givenUp,
    attempt?: AttemptRecord,
    items?: NoticeItemRecord[],
  ): Promise<void> {
    const text = reason.slice(0, 2000);
    failures.push({ channel, reason: text, at: now, final: true, undeliverable: true });
    if (notice.providerId !== null) {
      const listed = (items ?? notice.items).map((it) => ({
        reportId: it.reportId,
        caseKey: it.caseKey,
        ...(it.caseId ? { caseId: it.caseId } : {}),
        url: it.url,
        // Nominal: the legal clock does not start without delivery; enforcement decides what follows.
        deadlineAt: (it.deadlineAt ?? it.fixedDeadlineAt ?? now).toISOString(),
      }));
      outbox.push(failedEntry({
        noticeId: notice._id,
        providerId: notice.providerId,
        channel,
        ...(contact ? { contact: contact.slice(0, 2048) } : {}),
        reason: text,
        final: true,
        undeliverable: true,
        ...(attempt ? { attempt: attempt.n } : {}),
        ...(listed.length > 0 ? { items: listed.slice(0, 1000) } : {}),
        failedAt: now.toISOString(),
      }, now, `undeliverable-${attempt?.n ?? 0}`));
    }
    this.deps.logger.warn({ noticeId: notice._id, providerId: notice.providerId, reason: text }, 'notice undeliverable');
    await this.#commit(notice, lease, { state: NoticeState.UNDELIVERABLE, undeliverableReason: text, givenUp, nextAttemptAt: null }, failures, outbox, attempt);
  }

  /**
   * Records one step: the step document (outcome, proof, failures and the events they cause) is
   * inserted once under its unique id, then the notice document is brought up to date from it.
   * Only the lease holder gets here; if two ever do (a lease outlived), the insert admits one.
   */
  async #commit(notice: NoticeDocument, lease: Lease, set: Partial<NoticeDocument>, failures: FailureRecord[], outbox: OutboxEntry[], attempt?: AttemptRecord): Promise<boolean> {
    const seq = notice.version + 1;
    let step: StepDocument = {
      _id: stepId(notice._id, seq),
      noticeId: notice._id,
      seq,
      at: this.deps.clock.now(),
      ...(attempt ? { attempt } : {}),
      failures,
      set,
      outbox,
    };
    let mine = true;
    try {
      await this.#steps.insertOne(step);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      mine = false;
      step = (await this.#steps.findOne({ _id: step._id }))!;
      this.deps.logger.error({ noticeId: notice._id, seq }, 'another holder recorded this step first (a lease outlived); applying theirs');
    }
    if (mine && outbox.length > 0) this.deps.notifyOutbox({ collection: Collections.STEPS, id: step._id, entries: outbox });
    // The other holder hinted its own relay; a read by _id here costs little and loses nothing if it stopped.
    else if (!mine && (step.outbox?.length ?? 0) > 0) this.deps.notifyOutbox({ collection: Collections.STEPS, id: step._id });
    if (mine) recordNoticeStep(notice, step, this.deps.clock.now());
    await this.#apply(step);
    await this.#leases.release(lease);
    return mine;
  }

  async #apply(step: StepDocument): Promise<void> {
    const update: UpdateFilter<NoticeDocument> = { $set: { ...step.set, version: step.seq, updatedAt: step.at } };
    const push: Record<string, { $each: unknown[] }> = {};
    if (step.attempt) push.attempts = { $each: [step.attempt] };
    if (step.failures.length > 0) push.failures = { $each: step.failures };
    if (Object.keys(push).length > 0) (update as Record<string, unknown>).$push = push;
    await this.#notices.updateOne({ _id: step.noticeId, version: step.seq - 1 }, update);
  }
}

function stepId(noticeId: string, seq: number): string {
  return `${noticeId}#${seq}`;
}

/** `notice_payloads` id: one document per attempt number and body, never replaced. */
export function payloadId(noticeId: string, n: number, sha256: string): string {
  return `${noticeId}#${n}#${sha256}`;
}
