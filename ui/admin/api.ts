/** Calls to the server with the admin key (kept in sessionStorage: gone when the tab closes). */

const KEY_STORAGE = "understudy.admin-key";

export const storedKey = (): string | null => sessionStorage.getItem(KEY_STORAGE);
export const storeKey = (key: string | null): void => (key === null ? sessionStorage.removeItem(KEY_STORAGE) : sessionStorage.setItem(KEY_STORAGE, key));

/** An answer other than 2xx, with the server's error message when it sent one (OpenAI's shape). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export function authHeaders(key = storedKey()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** The error a non-2xx response carries: `{"error":{"message","code"}}`, else its text. */
export async function errorOf(res: Response): Promise<HttpError> {
  const text = await res.text().catch(() => "");
  try {
    const error = JSON.parse(text)?.error;
    if (error && typeof error.message === "string") return new HttpError(res.status, error.message, error.code ?? null);
  } catch {
    // Not JSON: the text itself (a proxy's page, the 503 "not built" text).
  }
  return new HttpError(res.status, text.trim().slice(0, 300) || `HTTP ${res.status}`);
}

export async function apiGet<T>(path: string, key = storedKey()): Promise<T> {
  const res = await fetch(`/admin/api/${path}`, { headers: authHeaders(key), cache: "no-store" });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export async function apiPost<T>(path: string): Promise<T> {
  const res = await fetch(`/admin/api/${path}`, { method: "POST", headers: authHeaders() });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}
