// Stands in for installing the package as a managed package: a copy of force-app's objects with the package's
// namespace on every custom object, custom field, lookup target and relationship name it defines, as a
// subscriber org describes them ('lrk__Lead_Score__c', 'lrk__Score_History__c', 'lrk__Score_History__r').
// Standard object folders (Lead, Account) keep their names; their package fields take the prefix.
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CUSTOM = /^[A-Za-z][A-Za-z0-9_]*__(c|mdt|e|b)$/;

/** Writes the namespaced build of `forceAppDir`'s objects into a new directory and returns it. */
export function namespacedMetadata(forceAppDir: string, namespace: string, outDir?: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]{0,14}$/.test(namespace))
    throw new Error(`namespace '${namespace}': 1-15 letters and digits, starting with a letter`);
  const out = outDir ?? mkdtempSync(join(tmpdir(), `orgsim-ns-${namespace}-`));
  const ns = (name: string) => `${namespace}__${name}`;
  const objectsIn = join(forceAppDir, 'objects');
  const objectsOut = join(out, 'objects');
  cpSync(objectsIn, objectsOut, { recursive: true });
  const packageObjects = new Set(readdirSync(objectsIn).filter((o) => CUSTOM.test(o)));
  for (const object of readdirSync(objectsOut)) {
    let dir = join(objectsOut, object);
    if (packageObjects.has(object)) {
      renameSync(dir, join(objectsOut, ns(object)));
      dir = join(objectsOut, ns(object));
      renameSync(join(dir, `${object}.object-meta.xml`), join(dir, `${ns(object)}.object-meta.xml`));
    }
    const fieldsDir = join(dir, 'fields');
    let files: string[] = [];
    try {
      files = readdirSync(fieldsDir).filter((f) => f.endsWith('.field-meta.xml'));
    } catch {
      continue;
    }
    for (const file of files) {
      const xml = readFileSync(join(fieldsDir, file), 'utf8')
        .replace(/<fullName>([^<]+)<\/fullName>/, (_m, name: string) => `<fullName>${ns(name)}</fullName>`)
        .replace(/<referenceTo>([^<]+)<\/referenceTo>/, (m, target: string) =>
          packageObjects.has(target) ? `<referenceTo>${ns(target)}</referenceTo>` : m,
        )
        .replace(
          /<relationshipName>([^<]+)<\/relationshipName>/,
          (_m, name: string) => `<relationshipName>${ns(name)}</relationshipName>`,
        );
      writeFileSync(join(fieldsDir, ns(file)), xml);
      renameSync(join(fieldsDir, file), join(fieldsDir, `${file}.unpackaged`));
    }
  }
  return out;
}
