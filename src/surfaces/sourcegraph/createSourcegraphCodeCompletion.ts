/** POST /.api/completions/code: autocomplete, on a model configured for code completion (or the default one). */
import type { Handler } from "../../handlers/types.js";
import { complete } from "./complete.js";

export const createSourcegraphCodeCompletion: Handler = (call) => complete(call, "createSourcegraphCodeCompletion");
