/**
 * Post-validation of json_schema output. The grammar keeps the output's shape (types, property
 * names, lengths, the shape of a date), but not what a grammar over characters cannot follow:
 * numeric bounds (`minimum`, `maximum`, `exclusive*`, `multipleOf`), calendar dates (Feb 31) and
 * object sizes. This is a small interpreter over the schema checkJsonSchema returned (the
 * keywords it lets through, with node-llama-cpp's `$defs` scoping), not Ajv: Ajv generates code
 * per schema, and compiling a 50 kB schema of 1,000 properties blocked the event loop for over a
 * second, where node-llama-cpp builds its grammar in about 30 ms.
 *
 * `pattern` is not checked: the grammar cannot follow it, and a client's regular expression run
 * over model output could backtrack for ever.
 */
type Json = Record<string, unknown>;

/** (schema, value) pairs one check may visit: `$ref`s and `anyOf`s can revisit a value many times. */
export const OUTPUT_CHECK_MAX_STEPS = 100_000;
/** Schema nesting one check follows, `$ref`s included (a `$ref` to itself never reaches a leaf). */
export const OUTPUT_CHECK_MAX_DEPTH = 256;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/i;

function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const FORMATS: Record<string, (text: string) => boolean> = {
  date: isDate,
  time: (text) => TIME.test(text),
  "date-time": (text) => {
    const t = text.search(/[Tt]/);
    return t > 0 && isDate(text.slice(0, t)) && TIME.test(text.slice(t + 1));
  },
};

/** The `$defs` in force at a point: node-llama-cpp joins them from the root down, the nearest first. */
interface Scope {
  defs: Json;
  parent?: Scope;
}

/** Thrown when a check would take too long: the output is then served as the grammar made it. */
class TooCostly extends Error {}

const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function hasType(value: unknown, type: unknown): boolean {
  if (type === "integer") return Number.isInteger(value);
  if (type === "number") return typeof value === "number" && Number.isFinite(value);
  return typeOf(value) === type;
}

const num = (v: unknown): v is number => typeof v === "number";

function multipleOf(value: number, step: number): boolean {
  const q = value / step;
  return Math.abs(q - Math.round(q)) <= 1e-9 * Math.max(1, Math.abs(q));
}

class OutputChecker {
  private steps = 0;

  /** The first mismatch, as "<path> <what>", or undefined. */
  check(schema: unknown, value: unknown, scope: Scope | undefined, depth: number, path: string): string | undefined {
    if (++this.steps > OUTPUT_CHECK_MAX_STEPS || depth > OUTPUT_CHECK_MAX_DEPTH) throw new TooCostly();
    if (!isObject(schema)) return schema === false ? `${path} is not allowed` : undefined;
    const here = isObject(schema.$defs) ? { defs: schema.$defs, parent: scope } : scope;
    if (typeof schema.$ref === "string") {
      const name = schema.$ref.replace(/^#\/\$defs\//, "");
      let s = here;
      while (s && !Object.hasOwn(s.defs, name)) s = s.parent;
      const err = s && this.check(s.defs[name], value, s, depth + 1, path);
      if (err) return err;
    }
    const branches = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(branches)) {
      let first: string | undefined;
      for (const branch of branches) {
        const err = this.check(branch, value, here, depth + 1, path);
        if (!err) return this.own(schema, value, here, depth, path);
        first ??= err;
      }
      return first;
    }
    return this.own(schema, value, here, depth, path);
  }

  /** The schema's own keywords (besides $ref and anyOf/oneOf). */
  private own(schema: Json, value: unknown, scope: Scope | undefined, depth: number, path: string): string | undefined {
    const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types && !types.some((t) => hasType(value, t))) return `${path} is not of type ${types.join(" or ")}`;
    if (schema.const !== undefined && schema.const !== value) return `${path} is not the const ${JSON.stringify(schema.const)}`;
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return `${path} is not one of the enum values`;
    if (typeof value === "number") return this.number(schema, value, path);
    if (typeof value === "string") return this.string(schema, value, path);
    if (Array.isArray(value)) return this.array(schema, value, scope, depth, path);
    if (isObject(value)) return this.object(schema, value, scope, depth, path);
    return undefined;
  }

  private number(s: Json, v: number, path: string): string | undefined {
    // Draft 4 (OpenAPI 3.0) writes an exclusive bound as `minimum` with `exclusiveMinimum: true`.
    if (num(s.minimum) && (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum)) return `${path} is below minimum ${s.minimum}`;
    if (num(s.maximum) && (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum)) return `${path} is above maximum ${s.maximum}`;
    if (num(s.exclusiveMinimum) && v <= s.exclusiveMinimum) return `${path} is not more than exclusiveMinimum ${s.exclusiveMinimum}`;
    if (num(s.exclusiveMaximum) && v >= s.exclusiveMaximum) return `${path} is not less than exclusiveMaximum ${s.exclusiveMaximum}`;
    if (num(s.multipleOf) && s.multipleOf > 0 && !multipleOf(v, s.multipleOf)) return `${path} is not a multiple of ${s.multipleOf}`;
    return undefined;
  }

  private string(s: Json, v: string, path: string): string | undefined {
    // Lengths in code points, as JSON Schema counts them; only counted when bounded.
    const length = num(s.minLength) || num(s.maxLength) ? [...v].length : 0;
    if (num(s.minLength) && length < s.minLength) return `${path} is shorter than minLength ${s.minLength}`;
    if (num(s.maxLength) && length > s.maxLength) return `${path} is longer than maxLength ${s.maxLength}`;
    const format = typeof s.format === "string" ? FORMATS[s.format] : undefined;
    if (format && !format(v)) return `${path} is not a valid ${s.format}`;
    return undefined;
  }

  private array(s: Json, v: unknown[], scope: Scope | undefined, depth: number, path: string): string | undefined {
    if (num(s.minItems) && v.length < s.minItems) return `${path} has fewer than minItems ${s.minItems}`;
    if (num(s.maxItems) && v.length > s.maxItems) return `${path} has more than maxItems ${s.maxItems}`;
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    for (let i = 0; i < v.length; i++) {
      const item = i < prefix.length ? prefix[i] : s.items;
      const err = item === undefined ? undefined : this.check(item, v[i], scope, depth + 1, `${path}/${i}`);
      if (err) return err;
    }
    return undefined;
  }

  private object(s: Json, v: Json, scope: Scope | undefined, depth: number, path: string): string | undefined {
    const keys = Object.keys(v);
    if (num(s.minProperties) && keys.length < s.minProperties) return `${path} has fewer than minProperties ${s.minProperties}`;
    if (num(s.maxProperties) && keys.length > s.maxProperties) return `${path} has more than maxProperties ${s.maxProperties}`;
    if (Array.isArray(s.required)) for (const name of s.required) if (!Object.hasOwn(v, name)) return `${path} lacks required property ${name}`;
    const props = isObject(s.properties) ? s.properties : {};
    for (const key of keys) {
      const sub = Object.hasOwn(props, key) ? props[key] : s.additionalProperties;
      const err = sub === undefined || sub === true ? undefined : this.check(sub, v[key], scope, depth + 1, `${path}/${key}`);
      if (err) return err;
    }
    return undefined;
  }
}

/** Checks a parsed output value; throws the first mismatch as a message naming its place. */
export type OutputCheck = (value: unknown) => void;

/** The check for `schema` (the copy checkJsonSchema returned, whose keyword values it has checked). */
export function compileOutputCheck(schema: Json): OutputCheck {
  return (value) => {
    let err: string | undefined;
    try {
      err = new OutputChecker().check(schema, value, undefined, 0, "");
    } catch (e) {
      if (e instanceof TooCostly) return;
      throw e;
    }
    if (err) throw new Error(err.startsWith(" ") ? `the output${err}` : err);
  };
}
