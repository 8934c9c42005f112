import { json, type Handler } from "./types.js";

export const listModels: Handler = async () => json({ object: "list", data: [] });
