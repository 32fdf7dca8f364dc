// The start-up configuration error: its message names the file and the field.
export class ConfigError extends Error {
  override name = 'ConfigError';
}
