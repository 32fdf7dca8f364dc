// jest stand-in for c/leadrankLabels: the same keys with the real texts, read from the CustomLabels file
// (sfdx-lwc-jest would otherwise resolve each label to its name, e.g. 'c.Leadrank_Scored').
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const xml = readFileSync(
  join(__dirname, '..', '..', 'main', 'default', 'labels', 'CustomLabels.labels-meta.xml'),
  'utf8',
);
const decode = (text) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
const LABELS = {};
for (const [, block] of xml.matchAll(/<labels>([\s\S]*?)<\/labels>/g)) {
  const name = /<fullName>(.*?)<\/fullName>/.exec(block)[1];
  const value = /<value>([\s\S]*?)<\/value>/.exec(block)[1];
  if (name.startsWith('Leadrank_')) LABELS[name.slice('Leadrank_'.length)] = decode(value);
}

export { LABELS };

export function format(template, ...values) {
  return String(template).replace(/\{(\d+)\}/g, (match, index) => {
    const value = values[Number(index)];
    return value === undefined ? match : String(value);
  });
}
