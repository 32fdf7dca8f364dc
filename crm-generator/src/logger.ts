import { pino, type Logger } from 'pino';

/** Structured progress logs on stderr (stdout carries the command's result). Never log record bodies or PII. */
export function createLogger(name: string): Logger {
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
}
