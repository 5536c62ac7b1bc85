import { ImportBatchCutter, type ImportBatchLimits, importEntryJson } from '../constant-contact';
import {
  contactFingerprint,
  contactFingerprintHalves,
  duplicateEmailIssue,
  type ExportContact,
  type RowIssue,
  type RowLocation,
} from '../profiles';
import type { ContactIndex } from './contact-index';
import { cutImportBatches } from './plan-import-batches';
import type { ImportBatchStore, PlannedImportBatch, StagedContact, UnplannedContact } from './run-store';
import type { SnapshotBucketChanges } from './snapshot-buckets';
import { fingerprintHalves } from './snapshot-fingerprint';

export interface ImportStagingOptions {
  /** The destination's snapshot, loaded: each contact is compared with it as it is read. */
  readonly index: ContactIndex;
  /** Stage every winner, changed or not. */
  readonly full: boolean;
  /** Where staged contacts go (a real run); a dry run leaves it out and stores nothing. */
  readonly store: { readonly runId: number; readonly imports: ImportBatchStore } | undefined;
  /** Receives a `duplicate-email` warning per profile that loses the dedupe. */
  readonly onIssue: (issue: RowIssue) => void;
  /**
   * Receives each snapshot fingerprint found to be a winner's in the scheme earlier versions kept
   * (`contactFingerprint`), translated to its `contactFingerprintHalves`: the caller stores them
   * (`SnapshotStore.translate`), so that the next run compares without the earlier scheme.
   */
  readonly translations?: SnapshotBucketChanges | undefined;
}

/** What the pass found. */
export interface ImportPlanCounts {
  readonly importCalls: number;
  /** Contacts to send (adds and updates, or all with `full`). */
  readonly toImport: number;
}

/** Which number of a RowLocation a source's rows carry. */
type LocationNumber = 'line' | 'rowid' | 'row';

/**
 * Staged contacts written per transaction. The state commits durably (synchronous=FULL): a commit
 * per read batch cost a sync each, seconds over a million rows where a few changed.
 */
const stagedPerWrite = 20_000;

/**
 * A run's contacts as they are read: each is offered to the index (the dedupe: per email, the
 * profile with the smallest key wins; every loser is reported), compared with the snapshot there,
 * and staged only when it is to be sent (new or changed, or all with `full`), written once with its
 * import entry. A winner displaced by a later profile with a smaller key is unstaged. Then `cut`
 * cuts the staged contacts, in read order, into import batches (count and byte bounds).
 */
export class ImportStaging {
  /** Contacts offered (before the dedupe). */
  offered = 0;
  /** Profiles that lost the dedupe. */
  duplicates = 0;
  private bytes = new Uint32Array(1024);
  private live = new Uint8Array(1024);
  private nextSeq = 0;
  private pending: StagedContact[] = [];
  private pendingDrops: number[] = [];
  /** The staging write under way (see `writeBehind`). */
  private writing: Promise<void> | undefined;
  private location: { file: string; relation?: string; number: LocationNumber } | undefined;
  /** Set by `cutWhileReading`: batches are cut as the contacts are written, and handed over. */
  private early:
    | {
        readonly cutter: ImportBatchCutter<UnplannedContact>;
        readonly hand: (planned: PlannedImportBatch) => void;
        /** The next `seq` to offer the cutter; those before it are cut (final). */
        next: number;
        /** Staged `seq`s that make the batch holding them wait (see `afterSettled`), increasing. */
        readonly ordered: number[];
      }
    | undefined;
  /** Staged contacts per write: fewer while cutting as it reads, so a batch leaves once it is full. */
  private writeEvery = stagedPerWrite;
  private earlyCalls = 0;
  private earlyContacts = 0;
  /**
   * Emails whose winner changed after the contact that lost had been cut into a batch (it is sent
   * as it was): every later winner of theirs is staged and sent after it (`afterSettled`).
   */
  private readonly reordered = new Set<string>();

  constructor(private readonly options: ImportStagingOptions) {}

  /**
   * From now on, cuts the contacts into import batches as they are written (a real run whose
   * contact limit and removal guard cannot stop it, see `readAndPlan`), and hands each batch over
   * once its contacts are written: the first ones are sent while the rest is read. A contact cut
   * is final: one that loses the dedupe afterwards stays in its batch, and the winner is staged
   * even if the snapshot holds it already, in a batch sent only once those before it are settled
   * (so the newer version is the one the list ends with, and the snapshot's fold, in `seq` order,
   * keeps). Call `cut` once the read is done: it cuts the rest.
   */
  cutWhileReading(
    listId: string,
    limits: ImportBatchLimits,
    hand: (planned: PlannedImportBatch) => void,
  ): void {
    if (this.options.store === undefined)
      throw new Error('cutWhileReading: a dry run cuts nothing while reading');
    this.early = {
      cutter: new ImportBatchCutter<UnplannedContact>([listId], limits, (contact) => contact[1]),
      hand,
      next: this.nextSeq,
      ordered: [],
    };
    this.writeEvery = Math.max(1, Math.min(stagedPerWrite, limits.maxContacts));
  }

  /** Offers one read batch's contacts; stages those to send (written `stagedPerWrite` at a time). */
  async add(contacts: readonly ExportContact[]): Promise<void> {
    const { index, full } = this.options;
    const staged = this.pending;
    const unstaged = this.pendingDrops;
    for (const contact of contacts) {
      this.offered += 1;
      this.location ??= locationOf(contact.where);
      const fingerprint = contactFingerprintHalves(contact);
      const where = contact.where;
      const result = index.offer({
        key: contact.key,
        emailKey: contact.emailKey,
        email: contact.email,
        position: where.line ?? where.rowid ?? where.row ?? 0,
        fingerprint,
      });
      if (result.kind === 'loser') {
        this.duplicates += 1;
        this.options.onIssue(duplicateEmailIssue(contact, { key: result.winnerKey, email: contact.email }));
        continue;
      }
      const displaced = result.displaced;
      // The winner must be sent after a contact of its email that a batch holds already.
      let reorder = this.reordered.size > 0 && this.reordered.has(contact.emailKey);
      if (displaced !== undefined) {
        this.duplicates += 1;
        const dropped = {
          key: displaced.key,
          email: displaced.email,
          emailKey: contact.emailKey,
          segments: [],
          where: this.rowLocation(displaced.position),
        };
        this.options.onIssue(duplicateEmailIssue(dropped, { key: contact.key, email: displaced.email }));
        if (displaced.seq >= 0 && this.early !== undefined && displaced.seq < this.early.next) {
          // Cut already (maybe sent): it stays in its batch, and this one follows it.
          this.reordered.add(contact.emailKey);
          reorder = true;
        } else if (displaced.seq >= 0) {
          this.live[displaced.seq] = 0;
          unstaged.push(displaced.seq);
        }
      }
      // A snapshot written before contacts had `contactFingerprintHalves` holds their SHA-256
      // fingerprints: computed only for a contact whose snapshot fingerprint differs from its own
      // (a changed one, or one the snapshot has not had translated yet), once.
      let state = index.snapshotState(result.entry);
      if (state === 2 && index.mayHoldEarlierFingerprint(result.entry)) {
        const earlier = index.translateSnapshot(
          result.entry,
          fingerprintHalves(contactFingerprint(contact)),
          fingerprint,
        );
        if (earlier !== undefined) {
          this.options.translations?.translate(contact.emailKey, earlier, fingerprint);
          state = 1;
        }
      }
      if (!full && !reorder && state === 1) continue;
      const entry = importEntryJson({
        email: contact.email,
        first_name: contact.firstName,
        last_name: contact.lastName,
        fields: contact.fields,
      });
      const seq = this.nextSeq;
      this.nextSeq += 1;
      if (seq >= this.bytes.length) this.grow();
      this.bytes[seq] = Buffer.byteLength(entry);
      this.live[seq] = 1;
      index.setStaged(result.entry, seq);
      if (reorder) this.early?.ordered.push(seq);
      staged.push({
        seq,
        emailKey: contact.emailKey,
        fingerprint,
        entry,
      });
    }
    if (staged.length >= this.writeEvery) await this.writeBehind();
  }

  /** Writes what is staged so far (call it once the read is done, before `cut`). */
  async flush(): Promise<void> {
    await this.writeBehind();
    await this.writing;
    this.writing = undefined;
  }

  /**
   * Starts writing what is staged so far once the write before it is done, and resolves without
   * waiting for it: the next read batch is compared while a networked store commits this one (a
   * store in the same process has written it by the time `stage` returns). Writes stay in order (a
   * contact's unstaging after its staging); a write's failure is thrown by the next call.
   */
  private async writeBehind(): Promise<void> {
    const staged = this.pending;
    const unstaged = this.pendingDrops;
    this.pending = [];
    this.pendingDrops = [];
    const previous = this.writing;
    this.writing = undefined;
    await previous;
    const store = this.options.store;
    if (store === undefined) return;
    // Cut now, handed over once written: every contact up to here is either in this write or was
    // in one before, and so is every unstaging of one of them.
    const cut = this.early === undefined ? [] : this.cutStaged(false);
    const write = (async () => {
      await store.imports.stage(store.runId, staged);
      await store.imports.unstage(store.runId, unstaged);
      for (const planned of cut) this.early?.hand(planned);
    })();
    // Observed by the next writeBehind or flush; never an unhandled rejection if the read fails first.
    write.catch(() => undefined);
    this.writing = write;
  }

  /**
   * Cuts the staged contacts into import batches (`cutImportBatches`), handing each to `storeBatch`
   * (a real run keeps them, to plan them as it sends). Yields to the event loop now and then; an
   * aborted signal stops it with its reason.
   */
  async cut(
    listId: string,
    limits: ImportBatchLimits,
    storeBatch: ((batch: number, planned: PlannedImportBatch) => Promise<void>) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ImportPlanCounts> {
    let importCalls = 0;
    let toImport = 0;
    if (this.early !== undefined) {
      // Cut while reading: what is left (the contacts are written, see `flush`).
      for (const planned of this.cutStaged(true)) this.early.hand(planned);
      return { importCalls: this.earlyCalls, toImport: this.earlyContacts };
    }
    for await (const batch of cutImportBatches(this.livePages(), listId, limits, signal)) {
      importCalls += 1;
      toImport += batch.contacts;
      await storeBatch?.(importCalls, batch);
    }
    return { importCalls, toImport };
  }

  /**
   * Offers the cutter the staged contacts not offered yet (those still live), and returns the
   * batches it closed; `last`: the batch left open too.
   */
  private cutStaged(last: boolean): PlannedImportBatch[] {
    const early = this.early;
    if (early === undefined) return [];
    const closed: PlannedImportBatch[] = [];
    const planned = (batch: { contacts: readonly UnplannedContact[]; bodyBytes: number }) => {
      const firstSeq = (batch.contacts[0] as UnplannedContact)[0];
      const lastSeq = (batch.contacts[batch.contacts.length - 1] as UnplannedContact)[0];
      let afterSettled = false;
      while (early.ordered.length > 0 && (early.ordered[0] as number) <= lastSeq) {
        early.ordered.shift();
        afterSettled = true;
      }
      this.earlyCalls += 1;
      this.earlyContacts += batch.contacts.length;
      closed.push({
        contacts: batch.contacts.length,
        bodyBytes: batch.bodyBytes,
        firstSeq,
        lastSeq,
        ...(afterSettled ? { afterSettled: true } : {}),
      });
    };
    for (let seq = early.next; seq < this.nextSeq; seq++) {
      if (this.live[seq] !== 1) continue;
      const batch = early.cutter.add([seq, this.bytes[seq] as number]);
      if (batch !== undefined) planned(batch);
    }
    early.next = this.nextSeq;
    // A batch holding as many contacts as one may leaves now, not once the next contact is read.
    const rest = last ? early.cutter.finish() : early.cutter.takeFull();
    if (rest !== undefined) planned(rest);
    return closed;
  }

  /** The staged contacts still to send, as `[seq, bytes]` pages in `seq` order. */
  private *livePages(): Generator<UnplannedContact[]> {
    let page: UnplannedContact[] = [];
    for (let seq = 0; seq < this.nextSeq; seq++) {
      if (this.live[seq] !== 1) continue;
      page.push([seq, this.bytes[seq] as number]);
      if (page.length === stagedPerWrite) {
        yield page;
        page = [];
      }
    }
    yield page;
  }

  private rowLocation(position: number): RowLocation {
    const location = this.location ?? { file: '', number: 'line' as const };
    return {
      file: location.file,
      ...(location.relation === undefined ? {} : { relation: location.relation }),
      [location.number]: position,
    };
  }

  private grow(): void {
    const bytes = new Uint32Array(this.bytes.length * 2);
    bytes.set(this.bytes);
    this.bytes = bytes;
    const live = new Uint8Array(this.live.length * 2);
    live.set(this.live);
    this.live = live;
  }
}

/** The part of a RowLocation every row of one source shares, and which number it carries. */
function locationOf(where: RowLocation) {
  const number: LocationNumber =
    where.line !== undefined ? 'line' : where.rowid !== undefined ? 'rowid' : 'row';
  return {
    file: where.file,
    ...(where.relation === undefined ? {} : { relation: where.relation }),
    number,
  };
}
