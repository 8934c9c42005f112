/** The doctor's bounds, in a module of their own so that the CLI can name them without loading the doctor. */

export const DEFAULT_URL = "http://127.0.0.1:8080";
/** One check (a request and its answer, or two for the checks that compare) may take this long. */
export const DEFAULT_CHECK_TIMEOUT_MS = 60_000;
/** The whole run stops starting checks after this long; the ones not run are failures. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 10 * 60_000;
/** Models past this many (in /v1/models order) are not checked, and the report says so. */
export const DEFAULT_MAX_MODELS = 10;

export const DOCTOR_DEFAULTS_HELP = `per check ${DEFAULT_CHECK_TIMEOUT_MS / 1000} s, total ${DEFAULT_TOTAL_TIMEOUT_MS / 1000} s, at most ${DEFAULT_MAX_MODELS} models`;
