import { Ajv2020 } from "ajv/dist/2020.js";

/** The ajv instance for config-file schemas (registrations, providers, defaults, backend settings). */
export const ajv = new Ajv2020({ strict: false, allErrors: true });
