/**
 * Which state, and how far it has changed: what a saved plan records, so that applying it can refuse
 * a plan made against another state, or before the state changed (as Terraform's lineage and serial).
 */
export interface StateSerial {
  /** A random UUID made when the state was created (or migrated to have one); never changes. */
  readonly lineage: string;
  /**
   * 0 for a new state, +1 with every committed change of what a plan reads or shows: an applied
   * resource's spec, conditions or remote facts (not the time they were read), a stored secret, a
   * connection's stored token chain being dropped. Bumped in the same transaction as the change.
   * Runs do not move it (run history, snapshots, checkpoints and rotated tokens are not plan input).
   */
  readonly serial: number;
}
