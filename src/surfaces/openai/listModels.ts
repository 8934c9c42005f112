import { listedModels } from "../../config/catalogue.js";
import { json, type Handler } from "../../handlers/types.js";

export const listModels: Handler = async (call) => json({ object: "list", data: listedModels(call.services.config.current().index, call.key) });
