import type { Input } from '@pulumi/pulumi';

/**
 * `T` as a Pulumi program may pass it: every property, at any depth, may be an `Input` (a value, a
 * promise, or another resource's output), so `connection: marketingCc.metadata.name` both types
 * and wires the dependency.
 */
export type InputShape<T> = T extends string | number | boolean | null | undefined
  ? Input<T>
  : Input<{ [K in keyof T]: InputShape<T[K]> }>;
