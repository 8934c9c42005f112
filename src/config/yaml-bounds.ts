/**
 * Measures a parsed YAML document before anything else walks it. js-yaml turns an alias into a
 * second reference to the anchored node, so a few hundred bytes of anchors-of-anchors form a DAG
 * that every tree walk (ajv, the forbidden-key check, freezing) sees as hundreds of millions of
 * nodes. Here each distinct node is visited once and its expanded size memoized, so measuring
 * costs what the file costs while the result is what the walks would cost. Iterative: no stack
 * to overflow.
 */
import { describeLimit, type EnvLimit } from "../core/env-limit.js";
import { CONFIG_LIMITS } from "./config-limits.js";

type Container = Record<string, unknown> | unknown[];
type Step = string | number;

export interface DocumentSize {
  /** Nodes with every alias expanded (a scalar is one node). */
  nodes: number;
  /** Nesting depth with every alias expanded (a scalar is 0). */
  depth: number;
}

export type Measured = { ok: true; size: DocumentSize } | { ok: false; path: Step[]; message: string };

interface Frame {
  node: Container;
  key: Step | undefined;
  keys: Step[];
  next: number;
  nodes: number;
  depth: number;
}

const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

const frameOf = (node: Container, key: Step | undefined): Frame => ({
  node,
  key,
  keys: Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node),
  next: 0,
  nodes: 1,
  depth: 1,
});

const pathOf = (stack: Frame[]): Step[] => stack.slice(1).map((f) => f.key as Step);

export interface MeasureLimits {
  nodes: EnvLimit;
  depth: EnvLimit;
}

const defaultLimits: MeasureLimits = { nodes: CONFIG_LIMITS.fileNodes, depth: CONFIG_LIMITS.depth };

/** The expanded size of `doc`, or where it first goes over a limit (or refers to itself). */
export function measureDocument(doc: unknown, { nodes: nodeLimit, depth: depthLimit }: MeasureLimits = defaultLimits): Measured {
  if (!isContainer(doc)) return { ok: true, size: { nodes: 1, depth: 0 } };
  const memo = new Map<object, DocumentSize>();
  const open = new Set<object>([doc]);
  const stack: Frame[] = [frameOf(doc, undefined)];
  const maxNodes = nodeLimit.value;
  const maxDepth = depthLimit.value;
  const tooMany = (at: Step[]): Measured => ({
    ok: false,
    path: at,
    message: `with its aliases expanded, the file has more than the limit of ${describeLimit(nodeLimit, "nodes")}`,
  });
  const tooDeep = (at: Step[]): Measured => ({
    ok: false,
    path: at,
    message: `with its aliases expanded, the file nests deeper than the limit of ${describeLimit(depthLimit, "levels")}`,
  });
  for (;;) {
    const top = stack[stack.length - 1];
    if (top.next < top.keys.length) {
      const key = top.keys[top.next++];
      const child = (top.node as Record<Step, unknown>)[key];
      if (!isContainer(child)) {
        if (++top.nodes > maxNodes) return tooMany(pathOf(stack));
        continue;
      }
      if (open.has(child)) return { ok: false, path: [...pathOf(stack), key], message: "an alias refers to a node that contains it (a recursive alias)" };
      const known = memo.get(child);
      if (!known) {
        if (stack.length >= maxDepth) return tooDeep([...pathOf(stack), key]);
        open.add(child);
        stack.push(frameOf(child, key));
        continue;
      }
      top.nodes += known.nodes;
      top.depth = Math.max(top.depth, known.depth + 1);
      if (top.nodes > maxNodes) return tooMany(pathOf(stack));
      if (top.depth > maxDepth) return tooDeep(pathOf(stack));
      continue;
    }
    const done = stack.pop()!;
    open.delete(done.node);
    const size = { nodes: done.nodes, depth: done.depth };
    memo.set(done.node, size);
    const parent = stack[stack.length - 1];
    if (!parent) return { ok: true, size };
    parent.nodes += size.nodes;
    parent.depth = Math.max(parent.depth, size.depth + 1);
    if (parent.nodes > maxNodes) return tooMany(pathOf(stack));
    if (parent.depth > maxDepth) return tooDeep(pathOf(stack));
  }
}
