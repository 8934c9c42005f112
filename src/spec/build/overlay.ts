import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { JSONPath } from "jsonpath-plus";

/** An action of the OpenAPI Overlay Specification 1.0. */
export interface OverlayAction {
  target: string;
  description?: string;
  update?: unknown;
  remove?: boolean;
}

export interface OverlayDocument {
  overlay: string;
  info: { title: string; version: string };
  actions: OverlayAction[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * YAML 1.2 core schema: `n`, `y`, `on`, `no` stay strings (js-yaml 4 never applies YAML 1.1 booleans).
 */
export function parseYaml(text: string, filename: string): unknown {
  return yaml.load(text, { filename, schema: yaml.CORE_SCHEMA });
}

export function readOverlay(file: string): OverlayDocument {
  const doc = parseYaml(fs.readFileSync(file, "utf8"), file);
  if (!isObject(doc) || typeof doc.overlay !== "string" || !/^1\.0\.\d+$/.test(doc.overlay)) {
    throw new Error(`${file}: not an Overlay 1.0 document (missing "overlay: 1.0.x")`);
  }
  if (!isObject(doc.info) || typeof doc.info.title !== "string" || typeof doc.info.version !== "string") {
    throw new Error(`${file}: overlay "info" needs "title" and "version"`);
  }
  if (!Array.isArray(doc.actions) || doc.actions.length === 0) {
    throw new Error(`${file}: overlay needs a non-empty "actions" list`);
  }
  for (const [i, action] of doc.actions.entries()) {
    if (!isObject(action) || typeof action.target !== "string") throw new Error(`${file}: actions[${i}] needs a "target"`);
    if (action.update === undefined && action.remove !== true) {
      throw new Error(`${file}: actions[${i}] needs "update" or "remove: true"`);
    }
  }
  return doc as unknown as OverlayDocument;
}

/** Overlay semantics: objects merge recursively, arrays are concatenated, scalars replace. */
function mergeUpdate(target: unknown, update: unknown): unknown {
  if (Array.isArray(target) && Array.isArray(update)) return [...target, ...structuredClone(update)];
  if (!isObject(target) || !isObject(update)) return structuredClone(update);
  for (const [key, value] of Object.entries(update)) {
    target[key] = key in target ? mergeUpdate(target[key], value) : structuredClone(value);
  }
  return target;
}

interface Match {
  parent: Json | unknown[] | null;
  parentProperty: string | number;
  value: unknown;
}

function findTargets(doc: Json, target: string): Match[] {
  return JSONPath({ path: target, json: doc, resultType: "all", eval: false }) as Match[];
}

export function applyOverlay(doc: Json, overlay: OverlayDocument, source = "overlay"): Json {
  for (const [i, action] of overlay.actions.entries()) {
    const matches = findTargets(doc, action.target);
    if (matches.length === 0) throw new Error(`${source}: actions[${i}] target ${action.target} matches nothing`);
    // Removing from an array shifts later indices, so removals run last-match first.
    const ordered = action.remove === true ? [...matches].reverse() : matches;
    for (const match of ordered) {
      if (action.remove === true) {
        removeMatch(match);
      } else if (match.parent === null) {
        mergeUpdate(doc, action.update);
      } else {
        const merged = mergeUpdate(match.value, action.update);
        (match.parent as Record<string | number, unknown>)[match.parentProperty] = merged;
      }
    }
  }
  return doc;
}

function removeMatch(match: Match): void {
  if (Array.isArray(match.parent)) match.parent.splice(Number(match.parentProperty), 1);
  else if (match.parent) delete (match.parent as Json)[match.parentProperty as string];
}

/** Every overlay in `dir`, applied in file-name order. */
export function applyOverlayDirectory(doc: Json, dir: string): { doc: Json; applied: string[] } {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const file of files) applyOverlay(doc, readOverlay(path.join(dir, file)), file);
  return { doc, applied: files };
}
