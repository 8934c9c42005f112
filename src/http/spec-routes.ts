import type express from "express";
import yaml from "js-yaml";
import { extendedSpec, extendedSpecPath } from "../spec/extended-spec.js";

let yamlText: string | undefined;

/** The extended spec we publish, as JSON (the committed file) and YAML (rendered once, on first ask). */
export function mountSpecRoutes(app: express.Express): void {
  app.get("/openapi.json", (_req, res) => {
    res.type("application/json").sendFile(extendedSpecPath());
  });
  app.get("/openapi.yaml", (_req, res) => {
    yamlText ??= yaml.dump(extendedSpec(), { noRefs: true, lineWidth: -1 });
    res.type("application/yaml").send(yamlText);
  });
}
