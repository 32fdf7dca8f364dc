// Stands in for Bulk API 2.0 CSV dialects: the columnDelimiter and lineEnding enums a job is created with.

export const COLUMN_DELIMITERS = {
  BACKQUOTE: '`',
  CARET: '^',
  COMMA: ',',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
} as const;

export const LINE_ENDINGS = { LF: '\n', CRLF: '\r\n' } as const;

export type ColumnDelimiter = keyof typeof COLUMN_DELIMITERS;
export type LineEnding = keyof typeof LINE_ENDINGS;

export interface CsvDialect {
  columnDelimiter: ColumnDelimiter;
  lineEnding: LineEnding;
}

export const DEFAULT_DIALECT: CsvDialect = { columnDelimiter: 'COMMA', lineEnding: 'LF' };

export function isColumnDelimiter(value: unknown): value is ColumnDelimiter {
  return typeof value === 'string' && Object.hasOwn(COLUMN_DELIMITERS, value);
}

export function isLineEnding(value: unknown): value is LineEnding {
  return typeof value === 'string' && Object.hasOwn(LINE_ENDINGS, value);
}

export function delimiterChar(dialect: CsvDialect): string {
  return COLUMN_DELIMITERS[dialect.columnDelimiter];
}

export function recordDelimiter(dialect: CsvDialect): string {
  return LINE_ENDINGS[dialect.lineEnding];
}

/** csv-parse options for job data: the declared delimiter; line endings auto-detected (LF or CRLF). */
export function parseOptions(dialect: CsvDialect) {
  return { delimiter: delimiterChar(dialect), bom: true, relax_column_count: false } as const;
}

/** csv-stringify options for result files: every value quoted, as Salesforce writes its result CSVs. */
export function stringifyOptions(dialect: CsvDialect) {
  return {
    delimiter: delimiterChar(dialect),
    record_delimiter: recordDelimiter(dialect),
    quoted: true,
  } as const;
}
