import { modelObject } from "../../config/catalogue.js";
import { json, type Handler } from "../../handlers/types.js";

/** Any name that resolves (alias, model ref, provider/model, upstream id) finds the model. */
export const retrieveModel: Handler = async (call) => json(modelObject(call.services.config.current().resolve(call.params.model)));
