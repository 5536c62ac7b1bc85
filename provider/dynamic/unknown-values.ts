/**
 * How the Pulumi engine marks a value that is not known yet (during a preview, an input computed
 * from another resource's output): this string, in place of the value. It is part of Pulumi's RPC
 * protocol (`unknownValue` in @pulumi/pulumi/runtime/rpc), copied so that the provider's code needs
 * nothing from the SDK at run time.
 */
export const UNKNOWN_VALUE = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** The dotted paths (`spec.connection`, `spec.segments[1]`) of every unknown value inside `value`. */
export function unknownPaths(value: unknown, prefix = ''): string[] {
  if (value === UNKNOWN_VALUE) return [prefix];
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownPaths(item, `${prefix}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) =>
      unknownPaths(item, prefix === '' ? key : `${prefix}.${key}`),
    );
  }
  return [];
}

/** Whether `path` is `under` or inside it (`spec.auth` is under `spec`; `specs` is not). */
export function isPathUnder(path: string, under: string): boolean {
  return under === '' || path === under || path.startsWith(`${under}.`) || path.startsWith(`${under}[`);
}

/**
 * Whether a value not known at `unknown` may hold a change of `field`: the unknown path covers the
 * field (`spec` covers `spec.listId`) or lies inside it (`spec.auth.clientId.env` in `spec.auth.clientId`).
 */
export function unknownReaches(unknown: string, field: string): boolean {
  return isPathUnder(field, unknown) || isPathUnder(unknown, field);
}
