import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  operationBodyDefinition,
  patchedSwaggerDefinitions,
  refreshTokenFingerprint,
  type SwaggerOperation,
  validateSwaggerDefinition,
} from '../../../src/constant-contact';
import subset from '../../../src/constant-contact/swagger-subset.generated.json';
import { repoRoot } from '../../support/exportctl-cli';
import { apiOrigin, listId, nockedClient, secrets, useNock } from '../../support/nock-client';

const swagger = join(repoRoot, '..', 'shared', 'constant-contact', 'swagger-v3.yaml');

describe('the committed swagger subset', () => {
  it.skipIf(!existsSync(swagger))('matches ../shared/constant-contact/swagger-v3.yaml', () => {
    const check = spawnSync(
      process.execPath,
      [join(repoRoot, 'scripts', 'generate-swagger-subset.mjs'), '--check'],
      {
        encoding: 'utf8',
      },
    );
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('patches exactly the documented maxItems: 0 defects (API-NOTES "Known defects")', () => {
    const remove = subset.definitions.ListActivityRemoveContacts.properties;
    expect([remove.list_ids.maxItems, remove.source.properties.contact_ids.maxItems]).toEqual([0, 0]);
    expect(patchedSwaggerDefinitions().patched.sort()).toEqual([
      'ListActivityRemoveContacts.list_ids',
      'ListActivityRemoveContacts.source.contact_ids',
      'ListActivityRemoveContacts.source.list_ids',
      'ListActivityRemoveContacts.source.tag_ids',
    ]);
    const ids = (count: number) => Array.from({ length: count }, () => listId);
    expect(
      validateSwaggerDefinition('ListActivityRemoveContacts', {
        source: { contact_ids: ids(500) },
        list_ids: ids(50),
      }),
    ).toEqual([]);
    expect(
      validateSwaggerDefinition('ListActivityRemoveContacts', {
        source: { contact_ids: ids(501) },
        list_ids: ids(1),
      }),
    ).toEqual([{ pointer: '/source/contact_ids', message: 'must NOT have more than 500 items' }]);
    expect(
      validateSwaggerDefinition('ListActivityRemoveContacts', { source: {}, list_ids: ids(51) }),
    ).toHaveLength(1);
  });

  it('rejects what the contract rejects', () => {
    expect(
      validateSwaggerDefinition('ContactsJsonImport', {
        import_data: [{ email: 'a@b.c', first_name: 'x'.repeat(51) }],
        list_ids: [listId],
      }),
    ).toEqual([{ pointer: '/import_data/0/first_name', message: 'must NOT have more than 50 characters' }]);
    expect(validateSwaggerDefinition('ContactsJsonImport', { import_data: [], list_ids: [] })).toHaveLength(
      1,
    );
    expect(
      validateSwaggerDefinition('ContactsJsonImport', { import_data: [], list_ids: ['not-a-uuid'] }),
    ).toHaveLength(1);
    expect(validateSwaggerDefinition('ListInput', {})).toHaveLength(1);
  });
});

describe('request bodies the client sends', () => {
  useNock();

  it('validate against the swagger schemas of their operations', async () => {
    const bodies: Array<[SwaggerOperation, unknown]> = [];
    const capture = (operation: SwaggerOperation) => (body: unknown) => {
      bodies.push([operation, body]);
      return true;
    };
    const activity = (id: string, extra: Record<string, unknown> = {}) => ({
      activity_id: id,
      state: 'completed',
      status: {},
      ...extra,
    });
    nock(apiOrigin)
      .post('/v3/activities/contacts_json_import', capture('POST /activities/contacts_json_import'))
      .reply(201, activity('a1'))
      .post('/v3/activities/remove_list_memberships', capture('POST /activities/remove_list_memberships'))
      .reply(201, activity('a2'))
      .post('/v3/contact_lists', capture('POST /contact_lists'))
      .reply(201, { list_id: listId, name: 'Win-back' })
      .post('/v3/activities/contact_exports', capture('POST /activities/contact_exports'))
      .reply(201, activity('a3', { state: 'initialized' }))
      .get('/v3/activities/a3')
      .reply(200, activity('a3', { _links: { results: { href: '/v3/contact_exports/a3' } } }))
      .get('/v3/contact_exports/a3')
      .reply(200, 'contact_id,email_address\r\n');
    const base = nockedClient();
    const { client } = nockedClient({
      clock: base.clock,
      stored: {
        refreshToken: 'r',
        accessToken: 'a',
        accessTokenExpiresAt: base.clock.now() + 3_600_000,
        bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
        updatedAt: base.clock.now(),
      },
      limits: { requestsPerSecond: 50 },
    });
    await client.importContacts({
      contacts: [
        { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' },
        { email: 'zoe@example.com', first_name: 'Zoë' },
        { email: 'no-name@example.com' },
      ],
      listIds: [listId],
    });
    await client.removeListMemberships({
      contactIds: Array.from(
        { length: 500 },
        (_, index) => `c0ffee00-0000-4000-8000-${String(index).padStart(12, '0')}`,
      ),
      listIds: [listId],
    });
    await client.createList({ name: 'Win-back' });
    await client.exportListMembers(listId);
    expect(bodies.map(([operation]) => operation)).toEqual([
      'POST /activities/contacts_json_import',
      'POST /activities/remove_list_memberships',
      'POST /contact_lists',
      'POST /activities/contact_exports',
    ]);
    for (const [operation, body] of bodies) {
      const definition = operationBodyDefinition(operation);
      expect(definition).toBeDefined();
      expect(validateSwaggerDefinition(definition as NonNullable<typeof definition>, body)).toEqual([]);
    }
  });
});
