// How wide contacts fill import calls: `--size` generated profiles (default 1,000,000; the
// quickstart's seed) mapped as a run maps them (mapContact) with names only and with a 10-field
// mapping (company, job title, birthday month and day, anniversary, phone, street, city, country,
// one custom field), serialized as the run engine stages them (importEntryJson) and cut into
// imports by count and bytes (40,000 contacts, under 4,000,000 bytes). Prints the contacts per
// import call and the largest body of each. Nothing is sent: no sandbox.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generateProfiles } from '../../scripts/generate-profiles.mjs';

const listId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';
const streets = ['Maple Lane', 'Rue de Rivoli', 'Königsallee', 'Calle Mayor', 'Station Road'];
const cities = ['Chicago', 'Lyon', 'Düsseldorf', 'Sevilla', 'Manchester'];
const titles = ['Chief Innovation Officer', 'Account Manager', 'Head of Marketing Operations'];

/** The profile's extra columns, made up from its number so that every run makes the same ones. */
function wideValues(profile, index) {
  return [
    `${profile.LastName.split('\n')[0]} & Partners Holdings International`,
    titles[index % titles.length],
    String((index % 12) + 1),
    String((index % 28) + 1),
    `20${String(index % 25).padStart(2, '0')}-0${(index % 9) + 1}-1${index % 10}`,
    `+1 555-${String(index % 10_000).padStart(4, '0')}`,
    `${(index % 9_000) + 1} ${streets[index % streets.length]}`,
    cities[index % cities.length],
    profile.Country,
    ['gold', 'silver', 'bronze', 'platinum member since the first season'][index % 4],
  ];
}

export default {
  name: 'import-fields',
  description:
    'contacts per import call with names only and with a 10-field mapping (cut only, nothing sent)',
  async run({ root, log, options }) {
    const require = createRequire(import.meta.url);
    const profiles = require(join(root, 'dist', 'src', 'profiles', 'index.js'));
    const cc = require(join(root, 'dist', 'src', 'constant-contact', 'index.js'));
    const count = Number(options.size ?? 1_000_000);
    const names = { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' };
    const wide = {
      ...names,
      companyName: 'Company',
      jobTitle: 'Title',
      birthdayMonth: 'BirthMonth',
      birthdayDay: 'BirthDay',
      anniversary: 'Since',
      phone: 'Phone',
      street: 'Street',
      city: 'City',
      country: 'Country',
      customFields: { Tier: 'Tier' },
    };
    for (const [label, dataMatching] of [
      ['names only', names],
      ['10 fields', wide],
    ]) {
      const fields = profiles.mappedContactFields(dataMatching);
      const cutter = new cc.ImportBatchCutter([listId], cc.importBatchLimits, (entry) =>
        Buffer.byteLength(entry),
      );
      const batches = [];
      const started = performance.now();
      let index = 0;
      let warnings = 0;
      for (const { profile } of generateProfiles({ count })) {
        index += 1;
        const { contact, issues } = profiles.mapContact(
          {
            key: profile.CustomerId,
            where: { file: 'profiles.csv', line: index + 1 },
            segments: [],
            email: profile.EmailAddress,
            firstName: profile.FirstName,
            lastName: profile.LastName,
            fieldValues: fields.length === 0 ? [] : wideValues(profile, index),
          },
          dataMatching,
          fields,
        );
        warnings += issues.filter((issue) => issue.severity === 'warning').length;
        if (contact === undefined) continue;
        const entry = cc.importEntryJson({
          email: contact.email,
          first_name: contact.firstName,
          last_name: contact.lastName,
          fields: contact.fields,
        });
        const closed = cutter.add(entry);
        if (closed) batches.push(closed);
      }
      const last = cutter.finish();
      if (last) batches.push(last);
      const seconds = (performance.now() - started) / 1000;
      const contacts = batches.reduce((sum, batch) => sum + batch.contacts.length, 0);
      const sizes = batches.map((batch) => batch.contacts.length);
      log(
        `${label}: ${contacts.toLocaleString('en-US')} contacts in ${batches.length} import calls: ${Math.round(contacts / batches.length).toLocaleString('en-US')} contacts per call on average, ${Math.min(...sizes).toLocaleString('en-US')}-${Math.max(...sizes).toLocaleString('en-US')}; largest body ${Math.max(...batches.map((batch) => batch.bodyBytes)).toLocaleString('en-US')} bytes; ${(contacts ? Math.round(batches.reduce((sum, batch) => sum + batch.bodyBytes, 0) / contacts) : 0).toLocaleString('en-US')} bytes per contact; mapped and cut in ${seconds.toFixed(2)} s (${warnings.toLocaleString('en-US')} row warnings)`,
      );
    }
  },
};
