/**
 * Limits an operator can raise through `UNDERSTUDY_*` environment settings. Every limit names its
 * setting in the error it produces, so whoever hits it knows what to change.
 */

export interface EnvLimit {
  /** The environment variable that sets it. */
  readonly env: string;
  readonly value: number;
}

/** `text` as a positive integer setting; anything else is an error naming the setting. */
export function positiveIntegerSetting(env: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${env} must be a positive integer (got '${text.slice(0, 40)}')`);
  return value;
}

/**
 * A limit read from the environment on first use, then kept: a bad value is an error of the
 * command or request that needs the limit, not of importing the module that declares it.
 */
export function envLimit(env: string, fallback: number): EnvLimit {
  let value: number | undefined;
  return {
    env,
    get value() {
      if (value !== undefined) return value;
      const raw = process.env[env];
      return (value = raw === undefined || raw === "" ? fallback : positiveIntegerSetting(env, raw));
    },
  };
}

/** "65536 bytes (UNDERSTUDY_GRAMMAR_MAX_BYTES)": the value and the setting that raises it. */
export const describeLimit = (limit: EnvLimit, unit: string) => `${limit.value} ${unit} (${limit.env})`;
