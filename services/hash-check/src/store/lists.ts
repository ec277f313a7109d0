import { Binary, type Collection, type Db, type Document, type Filter, type FindCursor } from 'mongodb';
import { ErrorCode, HashCheckError, isDuplicateKeyError } from '@hashcheck/errors';
import { createEvent, HashesChanges, Topics } from '@hashcheck/events';
import { decodeChunk, encodeChunk, HASH_TYPES } from '@hashcheck/hash-index';
import type { ChunkCipher, HashChunk, HashType } from '@hashcheck/hash-index';
import { OUTBOX_INDEX, outboxEntry, type CollectionIndexes, type WithOutbox } from '@hashcheck/mongo';
import { CheckCode } from '../domain/codes';
import type { ListFileFormat, ReleaseMode } from '../domain/list-file';
import type { ListSource } from '../domain/names';
import { Collections, SERVICE_SOURCE } from './collections';

export type ListStatus = 'active' | 'disabled' | 'retired';
export type Counts = Record<HashType, number>;

export interface ListDoc extends WithOutbox {
  _id: string;
  name: string;
  source: ListSource;
  /** Category of entries that name none. */
  category: string;
  owner: string;
  description?: string | undefined;
  status: ListStatus;
  threshold: number;
  /** Bumped by every change of content or settings; instances compare it to what they hold. */
  revision: number;
  /** The active full release (the list's base content), if any. */
  base: string | null;
  /** Delta releases activated on top of `base`, in order. */
  patches: string[];
  activeReleaseId: string | null;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
}

export type ReleaseStatus = 'importing' | 'ready' | 'failed' | 'active' | 'superseded' | 'discarded';

export interface ReleaseDoc {
  _id: string;
  listId: string;
  mode: ReleaseMode;
  format: ListFileFormat | 'json';
  status: ReleaseStatus;
  createdAt: Date;
  createdBy: string;
  note?: string | undefined;
  lines: number;
  counts: { add: Counts; retract: Counts };
  errorCount: number;
  /** The first errors, with line numbers. */
  errors: { line: number; reason: string }[];
  chunks: number;
  completedAt?: Date;
  activatedAt?: Date;
  activatedBy?: string;
  /** List revision this release produced when activated. */
  revision?: number;
  failure?: string;
}

export interface ChunkDoc {
  _id: string;
  releaseId: string;
  listId: string;
  seq: number;
  op: 'add' | 'retract';
  type: HashType;
  count: number;
  keyId: string;
  data: Binary;
}

export const MAX_STORED_ERRORS = 1000;

export const LIST_INDEXES: CollectionIndexes[] = [
  { collection: Collections.LISTS, indexes: [OUTBOX_INDEX] },
  { collection: Collections.RELEASES, indexes: [{ key: { listId: 1, createdAt: -1 }, name: 'by_list' }] },
  { collection: Collections.CHUNKS, indexes: [{ key: { releaseId: 1, seq: 1 }, name: 'by_release' }, { key: { keyId: 1 }, name: 'by_key' }] },
];

export function emptyCounts(): Counts {
  return { md5: 0, sha1: 0, sha256: 0, pdq: 0 };
}

/** Associated data of a sealed chunk: binds it to its release and position. */
export function chunkContext(releaseId: string, seq: number): string {
  return `hashcheck/chunk/${releaseId}/${seq}`;
}

export interface NewList {
  id: string;
  name: string;
  source: ListSource;
  category: string;
  owner: string;
  description?: string | undefined;
  threshold: number;
  status: 'active' | 'disabled';
}

export type ListPatch = Partial<Pick<ListDoc, 'name' | 'category' | 'owner' | 'description' | 'threshold'>> & { status?: 'active' | 'disabled' };

/**
 * Lists, their releases and the releases' sealed chunks. The list document is the single source of
 * truth of what is active (base + patches + settings) and carries the change event in its outbox,
 * so an activation and its announcement are one atomic write.
 */
export class ListStore {
  readonly lists: Collection<ListDoc>;
  readonly releases: Collection<ReleaseDoc>;
  readonly chunks: Collection<ChunkDoc>;

  constructor(
    db: Db,
    readonly cipher: ChunkCipher,
  ) {
    this.lists = db.collection<ListDoc>(Collections.LISTS);
    this.releases = db.collection<ReleaseDoc>(Collections.RELEASES);
    this.chunks = db.collection<ChunkDoc>(Collections.CHUNKS);
  }

  private changeEvent(doc: ListDoc): ReturnType<typeof outboxEntry> {
    const event = createEvent(HashesChanges, {
      subject: doc._id,
      source: SERVICE_SOURCE,
      data: {
        listId: doc._id,
        kind: doc.status === 'active' ? 'list-enabled' : 'list-disabled',
        listName: doc.name.slice(0, 200),
        ...(doc.activeReleaseId ? { releaseId: doc.activeReleaseId } : {}),
        changedAt: doc.updatedAt.toISOString(),
      },
    });
    return outboxEntry(Topics.hashesChanges, event);
  }

  async createList(input: NewList, by: string): Promise<ListDoc> {
    const now = new Date();
    const doc: ListDoc = {
      _id: input.id,
      name: input.name,
      source: input.source,
      category: input.category,
      owner: input.owner,
      ...(input.description !== undefined ? { description: input.description } : {}),
      status: input.status,
      threshold: input.threshold,
      revision: 1,
      base: null,
      patches: [],
      activeReleaseId: null,
      createdAt: now,
      updatedAt: now,
      updatedBy: by,
    };
    doc.outbox = [this.changeEvent(doc)];
    try {
      await this.lists.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new HashCheckError(ErrorCode.CONFLICT, `list ${input.id} exists already`);
      throw err;
    }
    return doc;
  }

  async getList(id: string): Promise<ListDoc | null> {
    return this.lists.findOne({ _id: id }, { projection: { outbox: 0 } });
  }

  async requireList(id: string): Promise<ListDoc> {
    const doc = await this.getList(id);
    if (!doc) throw new HashCheckError(CheckCode.LIST_NOT_FOUND, `no list ${id}`, { statusCode: 404 });
    return doc;
  }

  async allLists(includeRetired = true): Promise<ListDoc[]> {
    const filter: Filter<ListDoc> = includeRetired ? {} : { status: { $ne: 'retired' } };
    return this.lists.find(filter, { projection: { outbox: 0 } }).sort({ _id: 1 }).toArray();
  }

  /** `_id` and `revision` of every list: what the safety-net poll compares. */
  async revisions(): Promise<{ _id: string; revision: number }[]> {
    return this.lists.find({}, { projection: { _id: 1, revision: 1 } }).toArray();
  }

  /**
   * Applies `change` to the list if nobody changed it since `expected` (optimistic: the local
   * server has no transactions), bumping the revision and queueing the change event in the same write.
   */
  private async commit(expected: ListDoc, change: Partial<ListDoc>, by: string, push?: { patches: string }): Promise<ListDoc | null> {
    const next: ListDoc = { ...expected, ...change, revision: expected.revision + 1, updatedAt: new Date(), updatedBy: by };
    if (push) next.patches = [...expected.patches, push.patches];
    const set: Partial<ListDoc> = { ...change, revision: next.revision, updatedAt: next.updatedAt, updatedBy: by };
    const update: Document = { $set: set, $push: { outbox: this.changeEvent(next), ...(push ? { patches: push.patches } : {}) } };
    const r = await this.lists.updateOne({ _id: expected._id, revision: expected.revision }, update);
    return r.matchedCount === 1 ? next : null;
  }

  private async commitWithRetry(id: string, by: string, build: (doc: ListDoc) => { change: Partial<ListDoc>; push?: { patches: string } }): Promise<ListDoc> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await this.requireList(id);
      const { change, push } = build(doc);
      const done = await this.commit(doc, change, by, push);
      if (done) return done;
    }
    throw new HashCheckError(ErrorCode.CONFLICT, `list ${id} is being changed concurrently; try again`, { retriable: true });
  }

  async updateList(id: string, patch: ListPatch, by: string): Promise<ListDoc> {
    return this.commitWithRetry(id, by, (doc) => {
      if (doc.status === 'retired') throw new HashCheckError(CheckCode.LIST_RETIRED, `list ${id} is retired`, { statusCode: 409 });
      const change: Partial<ListDoc> = {};
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) (change as Record<string, unknown>)[k] = v;
      return { change };
    });
  }

  /** Retires a list: it stops matching everywhere; its releases stay as history. */
  async retireList(id: string, by: string): Promise<ListDoc> {
    return this.commitWithRetry(id, by, (doc) => {
      if (doc.status === 'retired') throw new HashCheckError(CheckCode.LIST_RETIRED, `list ${id} is retired already`, { statusCode: 409 });
      return { change: { status: 'retired' } };
    });
  }

  async createRelease(listId: string, mode: ReleaseMode, format: ReleaseDoc['format'], by: string, id: string, note?: string): Promise<ReleaseDoc> {
    const list = await this.requireList(listId);
    if (list.status === 'retired') throw new HashCheckError(CheckCode.LIST_RETIRED, `list ${listId} is retired`, { statusCode: 409 });
    const doc: ReleaseDoc = {
      _id: id,
      listId,
      mode,
      format,
      status: 'importing',
      createdAt: new Date(),
      createdBy: by,
      ...(note !== undefined ? { note } : {}),
      lines: 0,
      counts: { add: emptyCounts(), retract: emptyCounts() },
      errorCount: 0,
      errors: [],
      chunks: 0,
    };
    await this.releases.insertOne(doc);
    return doc;
  }

  /** Seals and stores one chunk of a release. */
  async writeChunk(release: { _id: string; listId: string }, seq: number, chunk: HashChunk): Promise<void> {
    const sealed = this.cipher.seal(encodeChunk(chunk), chunkContext(release._id, seq));
    await this.chunks.insertOne({
      _id: `${release._id}:${seq}`,
      releaseId: release._id,
      listId: release.listId,
      seq,
      op: chunk.op,
      type: chunk.type,
      count: chunk.count,
      keyId: this.cipher.currentKeyId,
      data: new Binary(sealed),
    });
  }

  async finishRelease(id: string, result: Pick<ReleaseDoc, 'lines' | 'counts' | 'errorCount' | 'errors' | 'chunks'>, status: 'ready' | 'failed', failure?: string): Promise<ReleaseDoc> {
    await this.releases.updateOne({ _id: id }, { $set: { ...result, status, completedAt: new Date(), ...(failure ? { failure } : {}) } });
    if (status === 'failed') await this.chunks.deleteMany({ releaseId: id });
    return (await this.releases.findOne({ _id: id })) as ReleaseDoc;
  }

  async getRelease(listId: string, id: string): Promise<ReleaseDoc> {
    const doc = await this.releases.findOne({ _id: id, listId });
    if (!doc) throw new HashCheckError(CheckCode.RELEASE_NOT_FOUND, `no release ${id} of list ${listId}`, { statusCode: 404 });
    return doc;
  }

  async listReleases(listId: string, limit = 100): Promise<ReleaseDoc[]> {
    return this.releases.find({ listId }, { projection: { errors: 0 } }).sort({ createdAt: -1 }).limit(limit).toArray();
  }

  /**
   * Makes a ready release the list's content: a full release becomes the new base (dropping the
   * patches), a delta release is appended to the patches. One write to the list document; every
   * instance then switches as a whole.
   */
  async activate(listId: string, releaseId: string, by: string): Promise<{ list: ListDoc; release: ReleaseDoc }> {
    const release = await this.getRelease(listId, releaseId);
    if (release.status !== 'ready') {
      throw new HashCheckError(CheckCode.RELEASE_NOT_READY, `release ${releaseId} is ${release.status}; only a ready release can be activated`, { statusCode: 409 });
    }
    const current = await this.requireList(listId);
    if (current.base === releaseId || current.patches.includes(releaseId)) {
      // The list took it, but the activation stopped before the release was marked (a crash, a
      // lost connection): finish it rather than apply the release a second time.
      return this.#markActive(current, release, by);
    }
    let previous: ListDoc | undefined;
    const list = await this.commitWithRetry(listId, by, (doc) => {
      if (doc.status === 'retired') throw new HashCheckError(CheckCode.LIST_RETIRED, `list ${listId} is retired`, { statusCode: 409 });
      previous = doc;
      if (release.mode === 'full') return { change: { base: releaseId, patches: [], activeReleaseId: releaseId } };
      return { change: { activeReleaseId: releaseId }, push: { patches: releaseId } };
    });
    return this.#markActive(list, release, by, previous);
  }

  async #markActive(list: ListDoc, release: ReleaseDoc, by: string, previous?: ListDoc): Promise<{ list: ListDoc; release: ReleaseDoc }> {
    const activatedAt = new Date();
    await this.releases.updateOne({ _id: release._id }, { $set: { status: 'active', activatedAt, activatedBy: by, revision: list.revision } });
    if (release.mode === 'full' && previous) {
      const superseded = [previous.base, ...previous.patches].filter((x): x is string => x !== null);
      if (superseded.length > 0) await this.releases.updateMany({ _id: { $in: superseded } }, { $set: { status: 'superseded' } });
    }
    return { list, release: { ...release, status: 'active', activatedAt, activatedBy: by, revision: list.revision } };
  }

  /** Drops a release that was never activated, with its chunks. */
  async discardRelease(listId: string, releaseId: string): Promise<void> {
    const release = await this.getRelease(listId, releaseId);
    if (release.status === 'active' || release.status === 'superseded') {
      throw new HashCheckError(ErrorCode.CONFLICT, `release ${releaseId} was activated; it stays as history`);
    }
    // Its status is the last thing an activation writes: the list may hold it already. Its chunks
    // are then what every instance matches with, and deleting them would silently drop its hashes.
    const list = await this.requireList(listId);
    if (list.base === releaseId || list.patches.includes(releaseId)) {
      throw new HashCheckError(ErrorCode.CONFLICT, `release ${releaseId} is part of list ${listId} (its activation was interrupted); activate it again to finish`);
    }
    await this.chunks.deleteMany({ releaseId });
    await this.releases.updateOne({ _id: releaseId }, { $set: { status: 'discarded' } });
  }

  private openChunk(doc: ChunkDoc): HashChunk {
    const chunk = decodeChunk(this.cipher.open(doc.data.buffer, chunkContext(doc.releaseId, doc.seq)));
    if (chunk.type !== doc.type || chunk.op !== doc.op || chunk.count !== doc.count) {
      throw new HashCheckError(ErrorCode.INTERNAL, `chunk ${doc._id} does not match its metadata`);
    }
    return chunk;
  }

  private chunksOf(releaseIds: readonly string[]): FindCursor<ChunkDoc> {
    // One query for all the releases, no sort: the local MongoDB-wire server (FerretDB 1.24) scans
    // and decodes the whole collection for every filtered query, so the number of queries is what
    // costs (four queries made a 2.8 M-hash start-up take 13 s instead of 3).
    return this.chunks.find(releaseIds.length === 1 ? { releaseId: releaseIds[0] as string } : { releaseId: { $in: [...releaseIds] } });
  }

  /**
   * The decrypted chunks of full releases (additions only), in no particular order: what a bulk
   * load needs. Streams: one chunk in memory at a time.
   */
  async *readBaseChunks(releaseIds: readonly string[]): AsyncGenerator<{ releaseId: string; chunk: HashChunk }> {
    if (releaseIds.length === 0) return;
    for await (const doc of this.chunksOf(releaseIds)) yield { releaseId: doc.releaseId, chunk: this.openChunk(doc) };
  }

  /**
   * The decrypted chunks of delta releases, per release in application order: retractions before
   * additions (a delta that retracts and re-adds a hash replaces it), each by sequence number.
   * Delta releases are small; they are held in memory while they are applied.
   */
  async readDeltaChunks(releaseIds: readonly string[]): Promise<Map<string, HashChunk[]>> {
    const byRelease = new Map<string, ChunkDoc[]>();
    for (const id of releaseIds) byRelease.set(id, []);
    if (releaseIds.length > 0) for await (const doc of this.chunksOf(releaseIds)) byRelease.get(doc.releaseId)?.push(doc);
    const out = new Map<string, HashChunk[]>();
    for (const [id, docs] of byRelease) {
      docs.sort((a, b) => (a.op === b.op ? a.seq - b.seq : a.op === 'retract' ? -1 : 1));
      out.set(id, docs.map((d) => this.openChunk(d)));
    }
    return out;
  }

  /**
   * Re-encrypts up to `limit` chunks sealed with a key other than the current one. Conditional on
   * the key id, so instances doing this at the same time do not fight. Returns how many it resealed.
   */
  async resealOld(limit = 50): Promise<number> {
    // With one key configured there is nothing this instance could reseal (and the query scans).
    if (this.cipher.keyIds.length < 2) return 0;
    const docs = await this.chunks.find({ keyId: { $ne: this.cipher.currentKeyId } }).limit(limit).toArray();
    let n = 0;
    for (const doc of docs) {
      const sealed = this.cipher.reseal(doc.data.buffer, chunkContext(doc.releaseId, doc.seq));
      const r = await this.chunks.updateOne({ _id: doc._id, keyId: doc.keyId }, { $set: { data: new Binary(sealed), keyId: this.cipher.currentKeyId } });
      n += r.modifiedCount;
    }
    return n;
  }

  /** Hash counts per type of the chunks of a release (for listings). */
  static total(counts: Counts): number {
    return HASH_TYPES.reduce((a, t) => a + counts[t], 0);
  }
}
