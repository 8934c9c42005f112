/**
 * Credentials a configured URL may carry (`http://user:pass@host`, `?api_key=`, `?sig=`): hidden
 * wherever a URL is logged, and their values redacted from upstream text like configured keys.
 */

const REDACTED = "[REDACTED]";
/** Query parameters known to hold no secret (Azure's api-version): the only values a logged URL shows. */
const PLAIN_QUERY_PARAMS = new Set(["api-version", "api_version", "version"]);
/**
 * Parameter names whose values are credentials: also redacted from upstream text (an upstream may
 * quote the URL it was called with). Other values (often `1` or `true`) are only hidden in logged URLs.
 */
const CREDENTIAL_PARAM = /key|token|secret|sig|signature|pass|pwd|auth|credential|session|code/i;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function queryPairs(search: string): { name: string; value: string }[] {
  return search
    .replace(/^\?/, "")
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? { name: pair, value: "" } : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
}

/** `url` without userinfo or query values (other than PLAIN_QUERY_PARAMS'). */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED;
  }
  const auth = parsed.username || parsed.password ? `${REDACTED}@` : "";
  const query = queryPairs(parsed.search).map(({ name, value }) =>
    PLAIN_QUERY_PARAMS.has(decoded(name).toLowerCase()) ? `${name}=${value}` : `${name}=${REDACTED}`,
  );
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname}${query.length > 0 ? `?${query.join("&")}` : ""}`;
}

/** The credential values in `url` (userinfo password, credential-named query values), as written and decoded. */
export function urlSecrets(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const out = new Set<string>();
  const add = (raw: string) => {
    if (raw === "") return;
    out.add(raw);
    out.add(decoded(raw));
  };
  add(parsed.password);
  for (const { name, value } of queryPairs(parsed.search)) if (CREDENTIAL_PARAM.test(decoded(name))) add(value);
  return [...out];
}
