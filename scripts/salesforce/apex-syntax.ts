// Parses every Apex class and trigger with the ANTLR grammar Salesforce tooling uses
// (@apexdevtools/apex-parser): catches syntax errors without an org. Types and SOQL fields are not
// resolved here; references.ts checks the names that matter.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApexErrorListener, ApexParserFactory } from '@apexdevtools/apex-parser';

export interface ApexSyntaxError {
  file: string;
  line: number;
  column: number;
  message: string;
}

class CollectingListener extends ApexErrorListener {
  readonly errors: Omit<ApexSyntaxError, 'file'>[] = [];
  apexSyntaxError(line: number, column: number, message: string): void {
    this.errors.push({ line, column, message });
  }
}

export function parseApex(source: string, kind: 'class' | 'trigger'): Omit<ApexSyntaxError, 'file'>[] {
  const listener = new CollectingListener();
  const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
  if (kind === 'trigger') parser.triggerUnit();
  else parser.compilationUnit();
  return listener.errors;
}

export async function apexSourceFiles(forceAppDir: string): Promise<string[]> {
  const entries = await readdir(forceAppDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && (e.name.endsWith('.cls') || e.name.endsWith('.trigger')))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function checkApexSyntax(forceAppDir: string): Promise<ApexSyntaxError[]> {
  const errors: ApexSyntaxError[] = [];
  for (const file of await apexSourceFiles(forceAppDir)) {
    const kind = file.endsWith('.trigger') ? 'trigger' : 'class';
    for (const error of parseApex(await readFile(file, 'utf8'), kind)) errors.push({ file, ...error });
  }
  return errors;
}

export function formatSyntaxError(error: ApexSyntaxError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.message}`;
}
