import { ExportctlError } from '../../../src/errors';
import type {
  ConnectionRuntime,
  ConstantContactAccess,
  CustomFieldFacts,
  ListFacts,
  SourceInspector,
} from '../../../src/resources';

/** A Constant Contact stand-in: lists by ID, credentials accepted when the secret matches. */
export class FakeConstantContact implements ConstantContactAccess {
  readonly lists = new Map<string, ListFacts>();
  acceptedSecret = 'secret-1';
  readonly calls: string[] = [];

  addList(id: string, name: string, membershipCount = 0): void {
    this.lists.set(id, { id, name, membershipCount });
  }

  async verifyAccess(connection: ConnectionRuntime): Promise<void> {
    this.calls.push(`verify ${connection.name}`);
    if (connection.clientSecret !== this.acceptedSecret) {
      throw new ExportctlError(
        'invalid-client',
        `Connection/${connection.name}: Constant Contact refused the client credentials`,
        {
          hint: 're-authorise the connection',
        },
      );
    }
  }

  /** The account's custom fields (every connection sees the same ones). */
  readonly customFieldList: CustomFieldFacts[] = [];

  async customFields(connection: ConnectionRuntime): Promise<readonly CustomFieldFacts[]> {
    this.calls.push(`customFields ${connection.name}`);
    await this.verifyAccess(connection);
    return this.customFieldList;
  }

  async getList(connection: ConnectionRuntime, listId: string): Promise<ListFacts | undefined> {
    this.calls.push(`getList ${connection.name} ${listId}`);
    await this.verifyAccess(connection);
    return this.lists.get(listId);
  }
}

/** Sources whose columns are given by the test; a missing column is a problem. */
export class FakeSources implements SourceInspector {
  columns = new Set(['CustomerId', 'EmailAddress', 'FirstName', 'LastName']);

  async problems(_spec: unknown, requiredFields: readonly string[]): Promise<string[]> {
    return requiredFields
      .filter((field) => !this.columns.has(field))
      .map((field) => `column ${field} is missing`);
  }
}
