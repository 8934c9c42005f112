/** `UNDERSTUDY_REDIS_URL`, shared by the response store and the rate limits: checked once at start. */
export const REDIS_URL_SETTING = "UNDERSTUDY_REDIS_URL";

/** The URL as given when it is a redis:// or rediss:// URL; else an Error naming the setting (the server refuses to start). */
export function redisUrlSetting(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${REDIS_URL_SETTING} must be a redis:// or rediss:// URL`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new Error(`${REDIS_URL_SETTING} must be a redis:// or rediss:// URL (got '${url.protocol}')`);
  return raw;
}
