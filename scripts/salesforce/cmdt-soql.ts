// SOQL on a Custom Metadata type accepts OR only between conditions on one column: `WHERE Action__c = :a
// OR MasterLabel = :a` compiles and passes every offline tool (PMD, apex-ls, the parser) but fails in a
// real org at run time. No library checks this, so this small scan of static SOQL does.
import type { PackageModel, ReferenceProblem } from './references.js';

/** `[SELECT ... FROM X__mdt WHERE ...]` blocks: the object and the WHERE clause. */
function cmdtQueries(source: string): { object: string; where: string; line: number }[] {
  const found: { object: string; where: string; line: number }[] = [];
  for (const match of source.matchAll(/\[\s*SELECT\b([\s\S]*?)\]/gi)) {
    const body = match[1] ?? '';
    const from = /\bFROM\s+(\w+__mdt)\b([\s\S]*)/i.exec(body);
    if (!from) continue;
    const where = /\bWHERE\b([\s\S]*?)(?:\bORDER\s+BY\b|\bLIMIT\b|\bWITH\b|$)/i.exec(from[2] ?? '');
    if (!where) continue;
    const line = source.slice(0, match.index).split('\n').length;
    found.push({ object: from[1] ?? '', where: where[1] ?? '', line });
  }
  return found;
}

/** Columns compared in a WHERE clause (left-hand sides of comparisons). */
function columnsOf(where: string): Set<string> {
  const columns = new Set<string>();
  for (const [, column] of where.matchAll(
    /(\b[\w.]+)\s*(?:=|!=|<>|<=|>=|<|>|\bLIKE\b|\bNOT\s+IN\b|\bIN\b)/gi,
  )) {
    if (column && !/^(AND|OR|NOT)$/i.test(column)) columns.add(column.toLowerCase());
  }
  return columns;
}

export function checkCustomMetadataSoql(model: PackageModel, problems: ReferenceProblem[]): void {
  for (const [file, source] of model.apexSources) {
    for (const query of cmdtQueries(source)) {
      const columns = columnsOf(query.where);
      if (/\bOR\b/i.test(query.where) && columns.size > 1) {
        problems.push({
          file,
          message: `line ${query.line}: OR across columns (${[...columns].join(', ')}) in SOQL on ${query.object}, which Salesforce rejects for Custom Metadata types`,
        });
      }
    }
  }
}
