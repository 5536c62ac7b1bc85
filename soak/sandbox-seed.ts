import { emailGroup, type ProfileSource } from './profile-source';
import type { ConnectionPlan, DestinationSpec } from './scenario-types';
import type { SeededRandom } from './seeded-random';

/** The client "outside" exportctl that trims lists, as a person in Constant Contact's web app would. */
export const outsideClient = {
  clientId: 'soak-outside',
  clientSecret: 'outside-secret',
  refreshToken: 'outside-refresh-token',
} as const;

/** The sandbox's starting data for a scenario, and what the oracle must know of it. */
export interface ScenarioSeed {
  /** The seed file's content (docs/constant-contact-sandbox.md, "Seed and state file format"). */
  readonly seed: unknown;
  /** Members of each list before any run, not from the source: exportctl must never remove them. */
  readonly foreign: ReadonlyMap<string, ReadonlySet<string>>;
  /** Emails (lowercased) of the source's contacts who unsubscribed: never added to a list. */
  readonly unsubscribed: ReadonlySet<string>;
}

/** A list ID drawn from `random` (a UUID's shape). */
export function listIdFrom(random: SeededRandom): string {
  const hex = (count: number) => Array.from({ length: count }, () => random.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/** Clients for every connection and the outside one, a list per destination with foreign members, some unsubscribed contacts. */
export function scenarioSeed(input: {
  readonly random: SeededRandom;
  readonly source: ProfileSource;
  readonly connections: readonly ConnectionPlan[];
  readonly destinations: readonly DestinationSpec[];
}): ScenarioSeed {
  const { random, source } = input;
  const foreign = new Map<string, Set<string>>();
  const contacts: {
    email: string;
    firstName?: string;
    lastName?: string;
    unsubscribed?: boolean;
    listIds?: string[];
  }[] = [];
  for (const [index, destination] of input.destinations.entries()) {
    const members = new Set<string>();
    const count = random.int(2, 6);
    for (let number = 1; number <= count; number++) {
      const email = `outside.${number}.list${index + 1}@foreign.example.org`;
      members.add(email);
      contacts.push({
        email,
        firstName: 'Outside',
        lastName: `Member ${number}`,
        listIds: [destination.listId],
      });
    }
    foreign.set(destination.listId, members);
  }
  const candidates = [
    ...new Set(source.rows.map((row) => emailGroup(row.email)).filter((email) => email.includes('@'))),
  ];
  const unsubscribed = new Set(random.sample(candidates, Math.max(2, Math.round(candidates.length / 100))));
  for (const email of unsubscribed) contacts.push({ email, firstName: 'Unsubscribed', unsubscribed: true });
  const seed = {
    $comment: 'written by npm run soak for one scenario',
    clients: [
      ...input.connections.map((connection) => ({
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
        refreshTokens: [connection.refreshToken],
      })),
      {
        clientId: outsideClient.clientId,
        clientSecret: outsideClient.clientSecret,
        refreshTokens: [outsideClient.refreshToken],
      },
    ],
    lists: input.destinations.map((destination) => ({
      listId: destination.listId,
      name: `Soak ${destination.name}`,
    })),
    contacts,
  };
  return { seed, foreign, unsubscribed };
}
