import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@hashcheck/errors';
import { backoffDelayMs } from '../domain/backoff';
import type { Clock } from '../domain/clock';
import { classifySmtpError, smtpReplyCode } from '../domain/delivery';
import { sha256Hex } from '../domain/ids';
import { renderDigestEmail } from '../domain/templates';
import { digestIdFor, shouldSendDigest } from '../domain/victim';
import { composeMail, type Mailer } from '../channels/email';
import type { NotificationSettings } from '../settings';
import { Collections, type AttemptRecord, type VictimDigestDocument, type VictimSeriesDocument } from '../store/collections';
import { Leases } from '../store/leases';
import { digestLease, type VictimRegistry } from './registry';

export interface DigestDeps {
  db: Db;
  registry: VictimRegistry;
  settings: NotificationSettings;
  clock: Clock;
  random: () => number;
  mailer: Mailer | undefined;
  workerId: string;
  logger: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void; error: (o: object, m: string) => void };
}

/** Sends due victim digests to the intermediary, one series at a time under a lease. */
export class DigestSender {
  readonly #series: Collection<VictimSeriesDocument>;
  readonly #digests: Collection<VictimDigestDocument>;
  readonly #leases: Leases;

  constructor(private readonly deps: DigestDeps) {
    this.#series = deps.db.collection<VictimSeriesDocument>(Collections.VICTIM_SERIES);
    this.#digests = deps.db.collection<VictimDigestDocument>(Collections.VICTIM_DIGESTS);
    this.#leases = new Leases(deps.db, deps.workerId);
  }

  /** Handles every series whose digest is due, each under an insert-based lease (see store/leases). */
  async runOnce(shouldStop: () => boolean = () => false): Promise<number> {
    let handled = 0;
    const now = this.deps.clock.now();
    const due = await this.#series.find({ nextDigestAt: { $lte: now } }, { projection: { _id: 1 } }).sort({ nextDigestAt: 1 }).limit(100).toArray();
    for (const { _id } of due) {
      if (shouldStop()) break;
      const lease = await this.#leases.acquire(digestLease(_id), this.deps.clock.now(), this.deps.settings.leaseMs);
      if (!lease) continue;
      try {
        const series = await this.#series.findOne({ _id });
        if (series?.nextDigestAt && series.nextDigestAt.getTime() <= this.deps.clock.now().getTime()) {
          handled++;
          await this.#process(series);
        }
      } catch (err) {
        this.deps.logger.error({ err, seriesId: _id }, 'digest pass failed; will retry at the next poll');
      } finally {
        await this.#leases.release(lease);
      }
    }
    return handled;
  }

  async #registered(seriesId: string): Promise<boolean> {
    return (await this.#series.findOne({ _id: seriesId }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * Adds the attempt to the digest record: a new record is inserted, an existing one updated
   * without upsert. Should the series have opted out while the digest was sent (the opt-out removes
   * the registration at once, then waits for this pass's lease), the record written here is taken
   * back; the opt-out would delete it anyway. Returns whether the series is still registered.
   */
  async #recordAttempt(digestId: string, exists: boolean, fields: Omit<VictimDigestDocument, '_id' | 'attempts'>, record: AttemptRecord): Promise<boolean> {
    const update = async () => this.#digests.updateOne({ _id: digestId }, { $set: fields, $push: { attempts: record } });
    if (exists) await update();
    else {
      try {
        await this.#digests.insertOne({ _id: digestId, ...fields, attempts: [record] });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        await update();
      }
    }
    if (await this.#registered(fields.seriesId)) return true;
    await this.#digests.deleteOne({ _id: digestId });
    this.deps.logger.warn({ seriesId: fields.seriesId, digestId }, 'series opted out while its digest was sent; record removed');
    return false;
  }

  /** A failed digest no longer retried: marked so, or (records written before the mark) out of tries or refused for good. */
  #givenUp(d: VictimDigestDocument): boolean {
    const lastAttempt = d.attempts.at(-1);
    return d.givenUpAt !== undefined || d.attempts.length >= this.deps.settings.backoff.email.maxAttempts || lastAttempt?.retriable === false;
  }

  async #schedule(seriesId: string, nextDigestAt: Date | null): Promise<void> {
    await this.#series.updateOne({ _id: seriesId }, { $set: { nextDigestAt, updatedAt: this.deps.clock.now() } });
  }

  async #process(series: VictimSeriesDocument): Promise<void> {
    const { registry, settings } = this.deps;
    const until = this.deps.clock.now();
    const last = await registry.lastDigest(series._id);
    const counts = await registry.counts(series._id, last?.until ?? null, until);
    if (!shouldSendDigest(series.choice, counts, last !== null)) {
      await this.#finish(series._id, until);
      return;
    }
    // The newest digest record: one still in retries is continued (same id and Message-ID, its
    // attempts counted on); after one sent or given up, the next digest takes the next number, so
    // it gets an id, a Message-ID and a retry budget of its own.
    const newest = await this.#digests.find({ seriesId: series._id }).sort({ seq: -1 }).limit(1).next();
    const previous = newest && newest.state === 'failed' && !this.#givenUp(newest) ? newest : null;
    const seq = previous ? previous.seq : newest ? newest.seq + 1 : 0;
    const digestId = digestIdFor(series._id, seq);
    const n = (previous?.attempts.length ?? 0) + 1;
    const startedAt = this.deps.clock.now();
    const mail = renderDigestEmail({ digestId, seriesId: series._id, ...(series.reference ? { reference: series.reference } : {}), createdAt: startedAt, counts }, series.language);
    const messageId = `<${digestId}@${settings.mail.messageIdDomain}>`;
    const raw = await composeMail({
      from: settings.mail.from,
      to: [series.intermediary.email],
      ...(settings.mail.replyTo ? { replyTo: settings.mail.replyTo } : {}),
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId,
      date: startedAt,
      headers: { 'X-HashCheck-Digest-Id': digestId },
    });
    const base = { n, channel: 'email' as const, target: series.intermediary.email, startedAt, payloadSha256: sha256Hex(raw), payloadBytes: raw.length, messageId };
    // An opt-out removes the registration before it waits for this pass's lease (VictimRegistry
    // #remove): read it again right before sending, and send and record nothing once it is gone.
    if (!(await this.#registered(series._id))) {
      this.deps.logger.info({ seriesId: series._id, digestId }, 'series opted out during the digest pass; digest not sent');
      return;
    }
    const res = this.deps.mailer ? await this.deps.mailer.send(raw, { from: settings.mail.from, to: [series.intermediary.email] }) : { ok: false as const, error: Object.assign(new Error('SMTP is not configured'), { responseCode: 550 }) };
    const finishedAt = this.deps.clock.now();
    const record: AttemptRecord = res.ok
      ? (() => {
          const code = smtpReplyCode(res.receipt.response);
          return { ...base, finishedAt, outcome: 'delivered' as const, smtpResponse: res.receipt.response.slice(0, 1000), ...(code ? { smtpCode: code } : {}), accepted: res.receipt.accepted, rejected: res.receipt.rejected };
        })()
      : (() => {
          const r = classifySmtpError(res.error);
          return { ...base, finishedAt, outcome: 'failed' as const, error: r.ok ? '' : r.reason, retriable: !r.ok && r.retriable };
        })();
    // Only the lease holder writes this series' digest documents, and never by upsert: a record an
    // opt-out deleted is not re-created by a later write.
    const policy = settings.backoff.email;
    const retry = !res.ok && record.retriable === true && n < policy.maxAttempts;
    const givenUp = !res.ok && !retry;
    const fields = {
      seriesId: series._id, seq, until, dueAt: series.nextDigestAt ?? startedAt, createdAt: startedAt, counts, state: res.ok ? ('sent' as const) : ('failed' as const),
      ...(givenUp ? { givenUpAt: finishedAt } : {}),
    };
    if (!(await this.#recordAttempt(digestId, previous !== null, fields, record))) return;
    if (res.ok) {
      this.deps.logger.info({ seriesId: series._id, digestId }, 'victim digest sent');
      await this.#finish(series._id, until);
      return;
    }
    if (retry) {
      await this.#schedule(series._id, new Date(finishedAt.getTime() + backoffDelayMs(n, policy, this.deps.random)));
      return;
    }
    this.deps.logger.error({ seriesId: series._id, digestId, reason: record.error }, 'victim digest could not be delivered; given up');
    await this.#finish(series._id, until);
  }

  /**
   * Ends a pass. Changes that arrived while the digest was prepared were not in it and need a
   * schedule of their own, but their handlers saw this digest's due time still set and left it.
   * So the schedule is first parked at a re-check time, then set from what changed since `until`:
   * a pass that dies between the two (or fails the second) leaves the series parked, and the
   * poller comes back to it. Clearing it first, as this did, lost such a change's digest for good
   * when the process died in between: nothing else looks at a series without a due time.
   */
  async #finish(seriesId: string, until: Date): Promise<void> {
    const parked = new Date(this.deps.clock.now().getTime() + this.deps.settings.leaseMs);
    await this.#schedule(seriesId, parked);
    const pending = await this.deps.registry.changedSince(seriesId, until);
    await this.deps.registry.reschedule(seriesId, pending, parked);
  }
}
