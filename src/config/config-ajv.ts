import { Ajv2020 } from "ajv/dist/2020.js";

/**
 * The ajv instance for config-file schemas (registrations, providers, defaults, backend settings).
 * `validateSchema: false`: these schemas are code (src/config/schema.ts, each backend's
 * settingsSchema), not input, and checking them against the 2020-12 meta-schema means compiling
 * that meta-schema first: 30-35 ms of every start, most of ajv's "first compile" cost.
 */
export const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
