import { modelObject } from "../../config/catalogue.js";
import { json, type Handler } from "../../handlers/types.js";

/** Any name that resolves (alias, model ref, provider/model, upstream id, a default name) finds the model, shown with its /v1/models id. */
export const retrieveModel: Handler = async (call) => {
  const snapshot = call.services.config.current();
  const reg = snapshot.resolve(call.params.model);
  return json(modelObject(reg, snapshot.index.listedId.get(reg)));
};
