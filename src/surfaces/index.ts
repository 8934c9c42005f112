/**
 * The protocol surfaces this server speaks. A new surface is a folder next to `openai/` and one
 * entry in SURFACES. Every operation belongs to at most one surface; operations no surface
 * implements (501), unknown URLs (404) and errors raised before an operation is known answer in
 * the OpenAI surface's shape.
 */
import type { Handler } from "../handlers/types.js";
import type { Surface } from "./types.js";
import { openAiSurface } from "./openai/index.js";
import { anthropicSurface } from "./anthropic/index.js";
import { sourcegraphSurface } from "./sourcegraph/index.js";
import { responsesSurface } from "./responses/index.js";

export const SURFACES: readonly Surface[] = [openAiSurface, anthropicSurface, sourcegraphSurface, responsesSurface];

/** The surface that answers for requests no surface claims. */
export const DEFAULT_SURFACE: Surface = openAiSurface;

/** operationId -> the surface whose handler serves it (no prototype: an operationId is never looked up through one). */
export type SurfaceLookup = (operationId: string | undefined) => Surface;

export function surfaceLookup(surfaces: readonly Surface[]): SurfaceLookup {
  const byOperation = new Map<string, Surface>();
  for (const surface of surfaces) {
    for (const operationId of Object.keys(surface.handlers)) {
      const other = byOperation.get(operationId);
      if (other) throw new Error(`The operation ${operationId} is claimed by two surfaces: ${other.name} and ${surface.name}`);
      byOperation.set(operationId, surface);
    }
  }
  return (operationId) => (operationId === undefined ? undefined : byOperation.get(operationId)) ?? DEFAULT_SURFACE;
}

/** The surfaces' handlers in one table (operationId -> handler), with no prototype. */
export function handlerTable(surfaces: readonly Surface[]): Readonly<Record<string, Handler>> {
  surfaceLookup(surfaces); // refuses an operation claimed twice
  const table = Object.create(null) as Record<string, Handler>;
  for (const surface of surfaces) Object.assign(table, surface.handlers);
  return table;
}

export const surfaceFor: SurfaceLookup = surfaceLookup(SURFACES);

/** Every handler of every registered surface: exactly core/operations.ts's IMPLEMENTED_OPERATIONS (a test checks). */
export const handlers: Readonly<Record<string, Handler>> = handlerTable(SURFACES);
