import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/profiles';
import { exportWorld } from '../../support/export-world';
import { runStoreBackends } from '../../support/run-store-backends';
import { vipListId } from '../../support/sandbox-client';
import { tempFolder } from '../../support/temp-folder';

const header = 'CustomerId,EmailAddress,FirstName,LastName';
const row = (index: number) => `C${index},u${index}@example.com,First${index},Last${index}`;

/** A data folder of `count` profiles, every one in VIP; `edit` rewrites the profiles file's text. */
function writeData(count: number, profiles = `${header}\n${rowsOf(count).join('\n')}\n`): string {
  const folder = join(tempFolder(), 'data');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'profiles.csv'), profiles);
  const members = Array.from({ length: count }, (_, index) => `C${index},VIP`);
  writeFileSync(join(folder, 'segment-membership.csv'), `CustomerId,Segment\n${members.join('\n')}\n`);
  return folder;
}

function rowsOf(count: number): string[] {
  return Array.from({ length: count }, (_, index) => row(index));
}

function firstNameOn(w: Awaited<ReturnType<typeof exportWorld>>, email: string): string | undefined {
  const contacts = w.sandbox.account.contacts;
  return contacts.firstName(contacts.find(email));
}

describe.each(runStoreBackends)(
  'a source that cannot be read whole fails the run before anything is sent, run store: $name',
  (runStore) => {
    it('a stray quote at row 1,951 of 2,000 fails the run naming the line; nothing is removed', async () => {
      const w = await exportWorld(writeData(2_000), { runStore });
      await w.apply([{ name: 'vip', removal: 'remove-from-list' }]);
      const first = await w.run('vip');
      expect(first.run.status).toBe('succeeded');
      expect(w.members()).toHaveLength(2_000);

      const rows = rowsOf(2_000);
      rows[1_950] = `C1950,u1950@example.com,"First1950,Last1950`;
      writeFileSync(join(w.dataFolder, 'profiles.csv'), `${header}\n${rows.join('\n')}\n`);
      const sent = w.sandbox.requests().length;
      const second = await w.run('vip');
      expect(second.run.status).toBe('failed');
      expect(second.error).toBeInstanceOf(SourceError);
      expect(second.error).toMatchObject({ code: 'source-unterminated-quote', context: { line: 1_952 } });
      expect(second.error?.message).toContain('profiles.csv:1952:');
      // Not a request of any kind went out, and the list is as it was.
      expect(
        w.sandbox
          .requests()
          .slice(sent)
          .filter((request) => request.method === 'POST'),
      ).toEqual([]);
      expect(w.members()).toHaveLength(2_000);
    });

    it('a file cut inside its last field is exported as it reads, with a no-final-line-break warning', async () => {
      const emails = Array.from({ length: 2_000 }, (_, index) => `C${index},u${index}@example.com`);
      // Cut inside the last row's email, the last field: `u1999@example.co`, no line end.
      const cut = `CustomerId,EmailAddress\n${emails.join('\n')}`.slice(0, -1);
      const w = await exportWorld(writeData(2_000, cut), { runStore });
      await w.apply([{ name: 'vip', names: false }]);
      const result = await w.run('vip');
      expect(result.run.status).toBe('succeeded');
      expect(result.record.rowIssues.byCode['no-final-line-break']).toBe(1);
      expect(w.members()).toContain('u1999@example.co');
    });
  },
);

describe.each(runStoreBackends)('the source encoding, run store: $name', (runStore) => {
  const latin1 = () => {
    const data = writeData(3);
    const file = join(data, 'profiles.csv');
    const text = readFileSync(file, 'utf8').replace('First1,', 'Jos\u00e9,');
    writeFileSync(file, Buffer.from(text, 'latin1'));
    return data;
  };

  it('bytes that are not UTF-8 in a name are a row warning naming the field, and are not sent', async () => {
    const w = await exportWorld(latin1(), { runStore });
    await w.apply([{ name: 'vip' }]);
    const result = await w.run('vip');
    expect(result.run.status).toBe('succeeded');
    expect(result.record.rowIssues.byCode['invalid-utf8']).toBe(1);
    expect(firstNameOn(w, 'u1@example.com')).toBe('Jos');
    const csv = await w.rowIssueCsv(result.run.id);
    expect(csv).toContain('invalid-utf8');
    expect(csv).toContain('FirstName');
    expect(csv).not.toContain('\uFFFD');
  });

  it('encoding: latin1 decodes the file as the user says', async () => {
    const w = await exportWorld(latin1(), { sourceEncoding: 'latin1', runStore });
    await w.apply([{ name: 'vip' }]);
    const result = await w.run('vip');
    expect(result.run.status).toBe('succeeded');
    expect(result.record.rowIssues.byCode['invalid-utf8']).toBeUndefined();
    expect(firstNameOn(w, 'u1@example.com')).toBe('Jos\u00e9');
    expect(w.members(vipListId)).toHaveLength(3);
  });

  it('a gzip file saved as profiles.csv fails the run saying so, echoing none of its bytes', async () => {
    const w = await exportWorld(writeData(20), { runStore });
    await w.apply([{ name: 'vip' }]);
    const profiles = join(w.dataFolder, 'profiles.csv');
    writeFileSync(profiles, gzipSync(readFileSync(profiles)));
    const sent = w.sandbox.requests().length;
    const result = await w.run('vip');
    expect(result.run.status).toBe('failed');
    expect(result.error).toBeInstanceOf(SourceError);
    expect(result.error?.code).toBe('source-unreadable');
    expect(result.error?.message).toBe(`${profiles} looks like a binary file (gzip), not csv text`);
    expect(result.error?.hint).toMatch(/gunzip/);
    expect(JSON.stringify(result.record.error)).not.toMatch(/\\u00|\ufffd/);
    // Only the preflight read went out.
    expect(w.sandbox.requests().length - sent).toBeLessThanOrEqual(2);
    expect(w.members()).toEqual([]);
  });
});
