/**
 * A small, independent JSON Schema (draft-07) validator covering the keywords flusso's
 * schemas use, so tests can check that what editors are told agrees with the loader.
 * Unknown keywords fail loudly: a schema change that uses a new keyword must extend this.
 */
type Schema = Record<string, unknown> | boolean;

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description", "default", "definitions"]);

/** The list of violations of `value` against `root` (empty when valid). */
export function jsonSchemaErrors(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(root, value, "$", root, errors);
  return errors;
}

function check(schema: Schema, value: unknown, at: string, root: Schema, errors: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    errors.push(`${at}: not allowed`);
    return;
  }
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    switch (keyword) {
      case "$ref": {
        const target = (arg as string).replace(/^#\//, "").split("/")
          .reduce<unknown>((node, seg) => (node as Record<string, unknown>)[seg], root);
        check(target as Schema, value, at, root, errors);
        break;
      }
      case "type": {
        const types = Array.isArray(arg) ? arg : [arg];
        if (!types.some((t) => typeMatches(t as string, value))) {
          errors.push(`${at}: expected ${types.join("|")}`);
        }
        break;
      }
      case "const":
        if (JSON.stringify(value) !== JSON.stringify(arg)) errors.push(`${at}: expected const`);
        break;
      case "enum":
        if (!(arg as unknown[]).some((v) => JSON.stringify(v) === JSON.stringify(value))) {
          errors.push(`${at}: not in enum`);
        }
        break;
      case "pattern":
        if (typeof value === "string" && !new RegExp(arg as string, "u").test(value)) {
          errors.push(`${at}: does not match ${arg}`);
        }
        break;
      case "minLength":
        if (typeof value === "string" && [...value].length < (arg as number)) {
          errors.push(`${at}: too short`);
        }
        break;
      case "maxLength":
        if (typeof value === "string" && [...value].length > (arg as number)) {
          errors.push(`${at}: too long`);
        }
        break;
      case "minimum":
        if (typeof value === "number" && value < (arg as number)) errors.push(`${at}: < min`);
        break;
      case "maximum":
        if (typeof value === "number" && value > (arg as number)) errors.push(`${at}: > max`);
        break;
      case "exclusiveMinimum":
        if (typeof value === "number" && value <= (arg as number)) errors.push(`${at}: <= min`);
        break;
      case "exclusiveMaximum":
        if (typeof value === "number" && value >= (arg as number)) errors.push(`${at}: >= max`);
        break;
      case "minItems":
        if (Array.isArray(value) && value.length < (arg as number)) errors.push(`${at}: too few`);
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > (arg as number)) errors.push(`${at}: too many`);
        break;
      case "items":
        if (!Array.isArray(value)) break;
        if (Array.isArray(arg)) {
          arg.forEach((s, i) =>
            i < value.length && check(s, value[i], `${at}[${i}]`, root, errors)
          );
        } else value.forEach((v, i) => check(arg as Schema, v, `${at}[${i}]`, root, errors));
        break;
      case "additionalItems":
        if (Array.isArray(value) && Array.isArray(schema.items)) {
          value.slice(schema.items.length).forEach((v, i) =>
            check(arg as Schema, v, `${at}[+${i}]`, root, errors)
          );
        }
        break;
      case "properties":
        if (!isObject(value)) break;
        for (const [key, sub] of Object.entries(arg as Record<string, Schema>)) {
          if (key in value) check(sub, value[key], `${at}.${key}`, root, errors);
        }
        break;
      case "required":
        if (!isObject(value)) break;
        for (const key of arg as string[]) {
          if (!(key in value)) errors.push(`${at}: missing ${key}`);
        }
        break;
      case "additionalProperties":
        if (!isObject(value)) break;
        for (const key of Object.keys(value)) {
          const known = Object.keys((schema.properties ?? {}) as object);
          if (!known.includes(key)) check(arg as Schema, value[key], `${at}.${key}`, root, errors);
        }
        break;
      case "propertyNames":
        if (!isObject(value)) break;
        for (const key of Object.keys(value)) {
          check(arg as Schema, key, `${at}{${key}}`, root, errors);
        }
        break;
      case "anyOf":
      case "oneOf": {
        const passing = (arg as Schema[]).filter((s) => jsonSchemaErrorsIn(s, value, root) === 0);
        if (keyword === "anyOf" ? passing.length === 0 : passing.length !== 1) {
          errors.push(`${at}: ${keyword} matched ${passing.length}`);
        }
        break;
      }
      case "not":
        if (jsonSchemaErrorsIn(arg as Schema, value, root) === 0) errors.push(`${at}: matches not`);
        break;
      case "dependencies":
        if (!isObject(value)) break;
        for (const [key, needs] of Object.entries(arg as Record<string, string[]>)) {
          if (key in value) {
            for (const n of needs) if (!(n in value)) errors.push(`${at}: ${key} needs ${n}`);
          }
        }
        break;
      case "allOf":
        for (const s of arg as Schema[]) check(s, value, at, root, errors);
        break;
      default:
        throw new Error(`json schema subset: unsupported keyword ${keyword} at ${at}`);
    }
  }
}

function jsonSchemaErrorsIn(schema: Schema, value: unknown, root: Schema): number {
  const errors: string[] = [];
  check(schema, value, "$", root, errors);
  return errors.length;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "null":
      return value === null;
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    default:
      throw new Error(`json schema subset: unsupported type ${type}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
