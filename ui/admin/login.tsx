import { useState } from "preact/hooks";
import { apiGet, HttpError } from "./api";
import type { WhoAmI } from "./types";

interface Props {
  /** Called with the key once the server accepted it as an admin key. */
  onLogin(key: string, who: WhoAmI): void;
  /** Why the stored key stopped working, if it did. */
  notice?: string;
}

function refusal(err: unknown): string {
  if (err instanceof HttpError && err.status === 401) return "The server does not know this key.";
  if (err instanceof HttpError && err.status === 403) return "This key is not an admin key (role: admin in keys.yaml).";
  return err instanceof Error ? err.message : String(err);
}

export function Login({ onLogin, notice }: Props) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const who = await apiGet<WhoAmI>("whoami", key.trim());
      onLogin(key.trim(), who);
    } catch (err) {
      setError(refusal(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Understudy admin</h1>
        <p class="muted">This server has API keys: sign in with a key whose role is admin.</p>
        <label for="admin-key">Admin key</label>
        <input
          id="admin-key"
          name="admin-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || key.trim() === ""}>
          Sign in
        </button>
      </form>
    </main>
  );
}
