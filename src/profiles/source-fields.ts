import { suggestName } from '../config/suggest-name';
import { formatSourceOrigin } from './row-location';
import { SourceError } from './source-error';

/**
 * Where each wanted field sits among a source's columns. Names match exactly (case-sensitive) for
 * every source type, so a manifest behaves the same whether its source is csv, jsonl or sqlite.
 * Returns one error per wanted field that is absent or names two columns; `indexes[i]` is the column
 * of `fields[i]` (-1 when absent).
 */
export function locateFields(
  columns: readonly string[],
  fields: readonly string[],
  origin: { readonly file: string; readonly relation?: string },
): { readonly indexes: readonly number[]; readonly errors: readonly SourceError[] } {
  const where = formatSourceOrigin(origin.file, origin.relation);
  const context = {
    file: origin.file,
    ...(origin.relation === undefined ? {} : { relation: origin.relation }),
  };
  const errors: SourceError[] = [];
  const indexes = fields.map((field) => {
    const index = columns.indexOf(field);
    if (index === -1) {
      const suggestion = suggestName(field, columns);
      errors.push(
        new SourceError('source-field-missing', `${where} has no field "${field}"`, {
          context: { ...context, field },
          hint:
            suggestion === undefined
              ? `its fields are: ${columns.join(', ') || '(none)'}; fix the manifest or the source`
              : `did you mean "${suggestion}"? (field names are case-sensitive)`,
        }),
      );
    } else if (columns.indexOf(field, index + 1) !== -1) {
      errors.push(
        new SourceError('source-duplicate-field', `${where} has two fields named "${field}"`, {
          context: { ...context, field },
          hint: 'rename one of them so that the export knows which one to read',
        }),
      );
    }
    return index;
  });
  return { indexes, errors };
}

/** The wanted fields' column indexes; throws the first `locateFields` error, if any. */
export function requireFields(
  columns: readonly string[],
  fields: readonly string[],
  origin: { readonly file: string; readonly relation?: string },
): readonly number[] {
  const { indexes, errors } = locateFields(columns, fields, origin);
  if (errors[0] !== undefined) throw errors[0];
  return indexes;
}
