import { useEffect, useState } from "preact/hooks";
import { apiGet, HttpError, storedKey, storeKey } from "./api";
import { Login } from "./login";
import { Shell } from "./shell";
import type { WhoAmI } from "./types";

type Session = { phase: "checking" } | { phase: "login"; notice?: string } | { phase: "in"; who: WhoAmI };

const refused = (err: unknown) => err instanceof HttpError && (err.status === 401 || err.status === 403);

/** Who we are: the stored key if it still works, else nobody (an open server needs no key). */
async function resume(): Promise<Session> {
  const key = storedKey();
  if (key) {
    try {
      return { phase: "in", who: await apiGet<WhoAmI>("whoami", key) };
    } catch (err) {
      if (!refused(err)) throw err;
      storeKey(null);
    }
  }
  try {
    return { phase: "in", who: await apiGet<WhoAmI>("whoami", null) };
  } catch (err) {
    if (refused(err)) return { phase: "login" };
    throw err;
  }
}

export function App() {
  const [session, setSession] = useState<Session>({ phase: "checking" });
  const [fatal, setFatal] = useState<string>();
  useEffect(() => {
    resume().then(setSession, (err: Error) => setFatal(err.message));
  }, []);
  if (fatal)
    return (
      <main class="login">
        <p class="error card" role="alert">
          The admin API did not answer: {fatal}
        </p>
      </main>
    );
  if (session.phase === "checking") return <main class="login muted">Connecting…</main>;
  if (session.phase === "login")
    return (
      <Login
        notice={session.notice}
        onLogin={(key, who) => {
          storeKey(key);
          setSession({ phase: "in", who });
        }}
      />
    );
  const signOut = (notice?: string) => {
    storeKey(null);
    setSession({ phase: "login", notice });
  };
  return <Shell who={session.who} onSignOut={signOut} />;
}
