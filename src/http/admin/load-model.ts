/**
 * POST /admin/api/models/<name>/load and /unload: the registrations named `name` (several when one
 * name serves disjoint endpoints) whose backend loads something (`warm` and `unload`, backends/types.ts).
 */
import { clipEcho, InvalidRequestError, ModelNotFoundError } from "../../core/errors.js";
import type { Services } from "../../services.js";
import { canLoad } from "./overview.js";
import type { LoadAnswerJson } from "./admin-json.js";

export type LoadAction = "load" | "unload";

export async function loadOrUnload(services: Services, name: string, action: LoadAction): Promise<LoadAnswerJson> {
  const snapshot = services.config.current();
  const named = snapshot.config.registrations.filter((r) => r.model === name);
  if (named.length === 0) throw new ModelNotFoundError(`The model '${clipEcho(name)}' does not exist`);
  const backends = named.map((r) => snapshot.backend(r)).filter(canLoad);
  if (backends.length === 0)
    throw new InvalidRequestError(`The model '${clipEcho(name)}' has no backend that loads a model (nothing to load or unload)`, null, "not_loadable");
  // Held like a request: a reload meanwhile retires the snapshot only once this is done.
  const leave = snapshot.enter();
  try {
    for (const backend of backends) await (action === "load" ? backend.warm!() : backend.unload!());
  } finally {
    leave();
  }
  return { name, loaded: backends.every((b) => b.loaded?.() === true) };
}
