import type { DataMatching, ProfileSourceSpec } from '../config';
import { resolveRowSources } from './adapters/source-adapters';
import { type CustomFieldType, mappedContactFields } from './contact-fields';
import { type ExportContact, mapContact } from './map-contact';
import { flattenBatches } from './readable-batches';
import type { RowIssue, RowIssueSink } from './row-issue';
import { formatRowLocation } from './row-location';
import { type MembershipReadSummary, selectSegmentMembers } from './segment-selection';
import { batchRows } from './source-record';
import { ownSourceRowsProvider, type SourceRowProvider } from './source-row-provider';
import { checkSourceReadsWhole } from './source-rows';

/** What one export reads: the source, where its manifest lives, and the destination's choices. */
export interface ReadContactsOptions {
  readonly source: ProfileSourceSpec;
  /** The folder of the manifest that declares the source; its relative paths start here. */
  readonly baseDir: string;
  /** The destination's selected segments (exact names). */
  readonly segments: readonly string[];
  readonly dataMatching: DataMatching;
  /**
   * The type of each mapped custom field in the account, as apply recorded it: a `date` one takes
   * dates as `anniversary` does; others (and unknown ones) are strings.
   */
  readonly customFieldTypes?: Readonly<Record<string, CustomFieldType>> | undefined;
  /** Receives every row issue (errors and warnings) as it is found. */
  readonly onIssue: RowIssueSink;
  /**
   * Where the rows come from; default a read of the source's own. A shared read of the source
   * (`SharedSourceRead`) lets the destinations of one source read and parse it once.
   */
  readonly rows?: SourceRowProvider | undefined;
  /**
   * Asked once the selection is read (with its size), before the profiles are: true has the
   * profiles checked whole (`SourceRowProvider.checkReadsWhole`) beside the read, so that `whole`
   * may settle before the read ends, and the read stops at the check's failure. A caller that sends
   * while it reads asks for it when it will.
   */
  readonly checkWhole?: ((selectedMembers: number) => boolean) | undefined;
}

/** Counts of one read; complete once the iteration has ended. */
export interface ContactReadSummary {
  /** Rows of the membership source read (all segments). */
  readonly membershipRows: number;
  /** Segment names in the data that look like a selected one but differ in case or spaces. */
  readonly segmentNearMisses: MembershipReadSummary['nearMisses'];
  /** Distinct keys in at least one selected segment. */
  readonly selectedMembers: number;
  readonly membersPerSegment: Readonly<Record<string, number>>;
  /** Rows of the profiles source read (selected or not). */
  readonly profileRows: number;
  /** Contacts yielded (before any dedupe by email). */
  readonly contacts: number;
  /** Selected members that have no profile row: nothing to export for them. */
  readonly membersWithoutProfile: number;
  /** Row issues reported, by severity. */
  readonly rowErrors: number;
  readonly rowWarnings: number;
}

/**
 * The contacts of one export, streamed one by one or, with `batches()`, a batch per chunk of the
 * source (fewer awaits in hot loops). Read it once, either way. `summary` is complete once the
 * iteration has ended.
 */
export interface ContactRead extends AsyncIterable<ExportContact> {
  batches(): AsyncIterable<ExportContact[]>;
  readonly summary: ContactReadSummary;
  /**
   * Resolves once the source is known to read whole: the profiles' check passed (`checkWhole`), or
   * the read ended; rejects with the SourceError that ends the read (the check's, as soon as it
   * has failed). Nothing read before it resolves can be from a source that fails part-way.
   */
  readonly whole: Promise<void>;
}

/**
 * The run engine's read: members of the selected segments → their profiles → mapped, normalised,
 * validated contacts. First streams the membership source into a compact selection
 * (`selectSegmentMembers`), then streams the profiles and yields a contact for each selected
 * profile with a sendable email (`mapContact`), in source order. Memory holds the selection only.
 *
 * Every bad row becomes a RowIssue through `onIssue` and never stops the read: unreadable rows
 * that are (or may be) selected, selected membership rows without a key, `duplicate-key` (a second
 * profile row for a selected key: the first row is the one exported; duplicates are only looked for
 * among selected keys), and the email/name issues of `mapContact`. Rows that cannot be selected are
 * not reported. Contacts are not deduplicated by email here: the engine does that in SQLite.
 *
 * A row's `warning` (the file's last line has no line break) is reported whether or not the row is
 * selected: it speaks of the file.
 *
 * Iterating rejects with a SourceError when the source cannot be read as a whole (missing file or
 * table, no header, a needed field that is not there, a broken quote, a file that changed while it
 * was read; see `readSourceRows`). Iterate once.
 */
export function readContacts(options: ReadContactsOptions): ContactRead {
  const counts = {
    membershipRows: 0,
    segmentNearMisses: [] as MembershipReadSummary['nearMisses'],
    selectedMembers: 0,
    membersPerSegment: {} as Record<string, number>,
    profileRows: 0,
    contacts: 0,
    membersWithoutProfile: 0,
    rowErrors: 0,
    rowWarnings: 0,
  };
  const report = (issue: RowIssue) => {
    if (issue.severity === 'error') counts.rowErrors++;
    else counts.rowWarnings++;
    options.onIssue(issue);
  };
  let started = false;
  const whole = settleable();
  const batches = () => {
    if (started) throw new Error('readContacts: a read can be iterated only once');
    started = true;
    return wholeOnce(streamContacts(options, counts, report, whole), whole);
  };
  return {
    get summary(): ContactReadSummary {
      return { ...counts };
    },
    whole: whole.promise,
    batches,
    [Symbol.asyncIterator]: () => flattenBatches(batches()),
  };
}

/** A promise settled from outside, first settlement kept; its rejection is never unhandled. */
interface Settleable {
  readonly promise: Promise<void>;
  /** Aborted once the read is over (`end`). */
  readonly over: AbortSignal;
  resolve(): void;
  reject(error: unknown): void;
  end(): void;
}

function settleable(): Settleable {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => undefined);
  const over = new AbortController();
  return { promise, over: over.signal, resolve, reject, end: () => over.abort() };
}

/** `batches`, settling `whole` with the read's end: resolved once it ends, rejected if it fails. */
async function* wholeOnce(
  batches: AsyncGenerator<ExportContact[]>,
  whole: Settleable,
): AsyncGenerator<ExportContact[]> {
  try {
    yield* batches;
    whole.resolve();
  } catch (error) {
    whole.reject(error);
    throw error;
  } finally {
    // Stopped early (the caller returned): the source was not read whole.
    whole.reject(new Error('readContacts: the read was stopped before its end'));
    whole.end();
  }
}

async function* streamContacts(
  options: ReadContactsOptions,
  counts: { -readonly [K in keyof ContactReadSummary]: ContactReadSummary[K] },
  report: RowIssueSink,
  whole: Settleable,
): AsyncGenerator<ExportContact[]> {
  const { source, dataMatching } = options;
  const rows = options.rows ?? ownSourceRowsProvider;
  const sources = resolveRowSources(source, options.baseDir);
  const { selection, summary } = await selectSegmentMembers(
    sources.segmentMembership,
    source.key,
    source.segmentField,
    options.segments,
    report,
    rows,
  );
  counts.membershipRows = summary.rows;
  counts.segmentNearMisses = summary.nearMisses;
  counts.selectedMembers = selection.size;
  counts.membersPerSegment = selection.membersPerSegment();

  const fields = [source.key, dataMatching.email];
  const firstNameAt = dataMatching.firstName === undefined ? -1 : fields.push(dataMatching.firstName) - 1;
  const lastNameAt = dataMatching.lastName === undefined ? -1 : fields.push(dataMatching.lastName) - 1;
  const mapped = mappedContactFields(dataMatching, options.customFieldTypes);
  const fieldsAt = fields.length;
  for (const field of mapped) fields.push(field.column);
  // Free text may span lines in a csv cell; numbers, dates and phones never do.
  const names = [
    dataMatching.firstName,
    dataMatching.lastName,
    ...mapped.filter((field) => field.kind === 'text').map((field) => field.column),
  ].filter((field) => field !== undefined);
  const only = {
    kind: 'members',
    key: source.key,
    membership: sources.segmentMembership,
    segmentField: source.segmentField,
    segments: options.segments,
    selection,
  } as const;
  const profileOptions = { multiLineFields: names, only };
  let checkFailure: { readonly error: unknown } | undefined;
  if (options.checkWhole?.(selection.size)) {
    // Stopped once the read is over (ended, failed or stopped): nothing waits for it then.
    const checkOptions = { ...profileOptions, signal: whole.over };
    const checking =
      rows.checkReadsWhole?.(sources.profiles, fields, checkOptions) ??
      checkSourceReadsWhole(sources.profiles, fields, checkOptions);
    checking.then(
      (known) => {
        // Not known before the end: `whole` resolves as the read ends.
        if (known) whole.resolve();
      },
      (error: unknown) => {
        checkFailure = { error };
        whole.reject(error);
      },
    );
  }
  for await (const batch of rows.rowBatches(sources.profiles, fields, profileOptions)) {
    // The check found what fails this read further on: stop here rather than read up to it.
    if (checkFailure !== undefined) throw checkFailure.error;
    const contacts: ExportContact[] = [];
    counts.profileRows += batchRows(batch);
    for (const record of batch) {
      const { values, where } = record;
      if (record.warning !== undefined) report(record.warning);
      const key = values[0];
      if (record.issue !== undefined) {
        if (!key) report(record.issue);
        else if (selection.has(key)) report({ ...record.issue, key });
        continue;
      }
      if (!key) continue;
      const segments = selection.claim(key);
      if (segments === undefined) continue;
      if (segments === 'claimed') {
        report({
          severity: 'error',
          code: 'duplicate-key',
          message: `${formatRowLocation(where)}: a second profile row with ${source.key} ${key}; the first one is exported`,
          where,
          key,
          field: source.key,
        });
        continue;
      }
      const { contact, issues } = mapContact(
        {
          key,
          where,
          segments,
          email: values[1],
          firstName: firstNameAt === -1 ? undefined : values[firstNameAt],
          lastName: lastNameAt === -1 ? undefined : values[lastNameAt],
          ...(mapped.length === 0 ? {} : { fieldValues: values.slice(fieldsAt, fieldsAt + mapped.length) }),
        },
        dataMatching,
        mapped,
      );
      for (const issue of issues) report(issue);
      if (contact !== undefined) {
        counts.contacts++;
        contacts.push(contact);
      }
    }
    if (contacts.length > 0) yield contacts;
  }
  // A check that failed although the read did not (the file changed while it was checked): `whole`
  // has rejected, so the read fails with it, and what waited for it is never sent.
  if (checkFailure !== undefined) throw checkFailure.error;
  counts.membersWithoutProfile = selection.unclaimed();
}
