import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExpectedContact, expectedSelection } from '../oracle';
import { type ProfileRow, segmentNames } from '../profile-source';
import { lineEnd, membershipCsv, profileFields, profilesCsv, writeSourceFiles } from '../source-files';
import { pickDestination, type StepKind } from '../step-kind';

/**
 * Ways a source file breaks. The first four make the source unreadable as a whole: the run must fail
 * with a source error naming the file, before sending anything, leaving the list as it was. The
 * last three damage one row: the run may fail that way too (a stray quote that opens a field is a
 * failed read, `source-unterminated-quote`), or go on without that row, or (a truncated last line)
 * with that row as it reads — but never lose other rows, never send U+FFFD.
 */
export const brokenFileVariants = [
  'missing-key-column',
  'empty-profiles',
  'missing-membership-file',
  'membership-missing-column',
  'stray-quote',
  'invalid-utf8',
  'truncated-last-line',
] as const;
export type BrokenFileVariant = (typeof brokenFileVariants)[number];

const wholeFile = new Set<BrokenFileVariant>([
  'missing-key-column',
  'empty-profiles',
  'missing-membership-file',
  'membership-missing-column',
]);

interface BreakParams {
  readonly [name: string]: string;
  readonly destination: string;
  readonly variant: BrokenFileVariant;
}

const plainLine = (fields: readonly string[]) =>
  !fields.some((field) => field.includes('"') || /[\r\n]/.test(field));

/** A run against a broken source file, then the file repaired. */
export const breakFile: StepKind<BreakParams> = {
  name: 'broken-file',
  weight: 1,
  applies: () => true,
  draw(draft, random) {
    const destination = pickDestination(draft, random);
    draft.ran.add(destination);
    return { destination, variant: random.pick(brokenFileVariants) };
  },
  describe: (params) =>
    `run ${params.destination} with a broken source file (${params.variant}), then repair it`,
  async run(world, params, random) {
    const { source } = world;
    let good = world.version;
    const spec = world.specs.get(params.destination);
    const profilesFile = join(world.dataFolder, 'profiles.csv');
    const membershipFile = join(world.dataFolder, 'segment-membership.csv');
    const resumes = world.resumableOrigin(params.destination) !== undefined;
    let damaged: ProfileRow | undefined;
    const optional = new Map<string, ExpectedContact | undefined>();
    if (wholeFile.has(params.variant)) {
      if (params.variant === 'missing-key-column')
        writeFileSync(profilesFile, profilesCsv(source).toString('utf8').replace('CustomerId', 'CustomerID'));
      if (params.variant === 'empty-profiles') writeFileSync(profilesFile, '');
      if (params.variant === 'missing-membership-file') rmSync(membershipFile);
      if (params.variant === 'membership-missing-column')
        writeFileSync(
          membershipFile,
          membershipCsv(source).toString('utf8').replace('CustomerId,Segment', 'CustomerId,Segments'),
        );
    } else {
      const rows = source.rows;
      const firstName = source.columns.indexOf('FirstName');
      const keys = new Map<string, number>();
      for (const row of rows) keys.set(row.key, (keys.get(row.key) ?? 0) + 1);
      // A row the destination selects, with a key of its own and a plain first name and line.
      const selected = (row: ProfileRow) =>
        (source.segments.get(row.key) ?? []).some((segment) => spec?.segments.includes(segment));
      const candidates = rows.filter(
        (row, index) =>
          index < rows.length - 1 &&
          row.key !== '' &&
          keys.get(row.key) === 1 &&
          /^[A-Za-z]{2,}$/.test(row.firstName) &&
          plainLine(profileFields(source, row)),
      );
      const chosen = candidates.filter(selected);
      damaged = random.pick(chosen.length > 0 ? chosen : candidates);
      if (params.variant === 'truncated-last-line') {
        // The damage must be in the last line: that row goes last (a new version, the same data).
        rows.splice(rows.indexOf(damaged), 1);
        rows.push(damaged);
        good = world.commitSource();
      }
      const end = lineEnd(source);
      const lines = [source.columns.join(','), ...rows.map((row) => profileFields(source, row).join(','))];
      const index = rows.indexOf(damaged) + 1;
      let broken: Buffer;
      if (params.variant === 'truncated-last-line') {
        const text = profilesCsv(source).toString('utf8');
        const fields = profileFields(source, damaged);
        const last = fields[fields.length - 1] ?? '';
        const lineStart = text.length - end.length - fields.join(',').length;
        const cut =
          lineStart + fields.join(',').length - last.length + Math.max(1, Math.floor(last.length / 2));
        broken = Buffer.from(text.slice(0, cut), 'utf8');
      } else {
        const fields = profileFields(source, damaged);
        const name = fields[firstName] ?? '';
        fields[firstName] =
          params.variant === 'stray-quote' ? `"${name}` : `${name.slice(0, 1)}\u0000${name.slice(1)}`;
        lines[index] = fields.join(',');
        broken = Buffer.from(`${source.bom ? '\uFEFF' : ''}${lines.join(end)}${end}`, 'utf8');
        if (params.variant === 'invalid-utf8') broken[broken.indexOf(0)] = 0xff;
      }
      writeFileSync(profilesFile, broken);
      // What a run that goes on without the damaged row must send: the good file without it.
      const folder = join(world.folder, 'variants', `step-${world.step}`);
      mkdirSync(folder, { recursive: true });
      const files = {
        profiles: join(folder, 'profiles.csv'),
        membership: join(folder, 'segment-membership.csv'),
      };
      writeFileSync(
        files.profiles,
        profilesCsv(
          source,
          rows.filter((row) => row !== damaged),
        ),
      );
      writeFileSync(files.membership, membershipCsv(source));
      const everyone = { segments: segmentNames, names: true };
      const before = world.selectionOf(good, everyone);
      const after = expectedSelection(readFileSync(files.profiles), readFileSync(files.membership), everyone);
      for (const [emailKey, contact] of before) {
        const other = after.get(emailKey);
        if (other?.key === contact.key) continue;
        // A damaged row that is sent anyway may carry what could be read of it: a truncated last
        // line is exported as it reads, with a no-final-line-break warning (issue #13, point 3).
        optional.set(emailKey, undefined);
      }
      // Without the row, a later row with its key (a duplicate-key trap) may count instead.
      for (const emailKey of after.keys()) if (!before.has(emailKey)) optional.set(emailKey, undefined);
      world.useVariant(files, optional, `${good.label} without row ${damaged.key}: ${params.variant}`);
    }
    try {
      const running = await world.startRun(params.destination);
      const report = await world.finishRun(running, {
        sourceFailure: resumes || !wholeFile.has(params.variant) ? 'may' : 'must',
      });
      const sent = report.outcomes?.some((outcome) => outcome.status === 'succeeded') ?? false;
      if (sent && damaged) world.markNamesUnknown(optional.keys());
    } finally {
      writeSourceFiles(source, world.dataFolder);
      world.restoreVersion(good);
    }
  },
};
