/**
 * A backend's error about a field a surface's translation wrote (a chat field), said in terms of the
 * field the client sent: its `param`, and the field's quoted name in the message.
 */
import { ApiError } from "../core/errors.js";

/** `names`: the translated field -> the client's field. Errors about other fields, and anything else, pass unchanged. */
export function inClientTerms(err: unknown, names: Readonly<Record<string, string>>): unknown {
  if (!(err instanceof ApiError) || err.param === null || !Object.hasOwn(names, err.param)) return err;
  const param = names[err.param];
  const message = err.message.split(`'${err.param}'`).join(`'${param}'`);
  return new ApiError(err.status, err.type, message, param, err.code, err.headers);
}
