import { modelObject } from "../../config/catalogue.js";
import { json, type Handler } from "../../handlers/types.js";

export const listModels: Handler = async (call) => json({ object: "list", data: call.services.config.current().config.registrations.map(modelObject) });
