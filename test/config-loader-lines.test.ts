/**
 * A problem names a line that exists and is the one at fault: a duplicate inside a list file at
 * that entry's line (whatever the list's style), a YAML error at the end of a file at its last line.
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../src/config/loader.js";
import { formatProblem } from "../src/config/problems.js";
import { writeConfigDir } from "./helpers/server.js";

const settings = "local_settings: {backend: llama-cpp, model: m.gguf}";

function problemsOf(files: Record<string, string>): string[] {
  const dir = writeConfigDir(files);
  fs.writeFileSync(path.join(dir, "m.gguf"), "GGUF");
  return loadConfig(dir).problems.map(formatProblem);
}

/** The number of lines an editor shows for `text` (a final newline starts no line). */
const lineCount = (text: string) => text.replace(/\n$/, "").split("\n").length;

describe("a duplicate name inside a list file", () => {
  it("is reported at the duplicate's line and index in a block list", () => {
    const list = `# two models\n- registration:\n    model: a\n  ${settings}\n- registration:\n    model: b\n  ${settings}\n- registration:\n    model: a\n  ${settings}\n`;
    expect(problemsOf({ "list.yaml": list })).toEqual([
      expect.stringMatching(/^list\.yaml:9: \[2\]\.registration\.model: duplicate model name or alias 'a' .*list\.yaml:3 and list\.yaml:9 both serve/),
    ]);
  });

  it("is reported at the duplicate's line when the file starts with a document marker", () => {
    const list = `---\n- registration:\n    model: a\n  ${settings}\n- registration:\n    model: a\n  ${settings}\n`;
    expect(problemsOf({ "list.yaml": list })).toEqual([
      expect.stringMatching(/^list\.yaml:6: \[1\]\.registration\.model: duplicate model name or alias 'a' .*list\.yaml:3 and list\.yaml:6 both serve/),
    ]);
  });

  it("is reported at the duplicate's line in a flow-style list", () => {
    const list = `[\n  {registration: {model: a}, ${settings}},\n  {registration: {model: b}, ${settings}},\n  {registration: {model: a}, ${settings}}\n]\n`;
    expect(problemsOf({ "list.yaml": list })).toEqual([
      expect.stringMatching(/^list\.yaml:4: \[2\]\.registration\.model: duplicate model name or alias 'a' .*list\.yaml:2 and list\.yaml:4 both serve/),
    ]);
  });

  it("is reported at the entry's line when an entry starts on the line after its dash", () => {
    const list = `-\n  registration:\n    model: a\n  ${settings}\n-\n  registration:\n    aliases: [x]\n    model: a\n  ${settings}\n`;
    expect(problemsOf({ "list.yaml": list })).toEqual([expect.stringMatching(/^list\.yaml:8: \[1\]\.registration\.model: duplicate model name or alias 'a'/)]);
  });

  it("reports a duplicate provider id at its entry's line", () => {
    const providers = `---\n- {id: p, type: openai-compatible, endpoints: [{url: "http://127.0.0.1:1/v1"}]}\n- {id: p, type: openai-compatible, endpoints: [{url: "http://127.0.0.1:1/v1"}]}\n`;
    expect(problemsOf({ "providers.yaml": providers })).toEqual(["providers.yaml:3: [1].id: duplicate provider id 'p'"]);
  });
});

describe("a YAML error at the end of a file", () => {
  const cases: Record<string, string> = {
    "an unclosed flow list, with a final newline": "registration:\n  model: a\n  aliases: [x,\n",
    "an unclosed flow list, without one": "registration:\n  model: a\n  aliases: [x,",
    "an unclosed quoted string": 'registration:\n  model: "a\n',
    "an unclosed flow mapping after blank lines": "registration: {model: a,\n\n\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`names a line that exists: ${name}`, () => {
      const problems = problemsOf({ "bad.yaml": text });
      expect(problems).toEqual([expect.stringMatching(/^bad\.yaml:\d+: invalid YAML: /)]);
      const line = Number(/^bad\.yaml:(\d+):/.exec(problems[0])![1]);
      expect(line).toBeGreaterThanOrEqual(1);
      expect(line).toBeLessThanOrEqual(lineCount(text));
    });
  }

  it("names the last line when the error is found at the end", () => {
    expect(problemsOf({ "bad.yaml": "registration:\n  model: a\n  aliases: [x,\n" })).toEqual([
      expect.stringMatching(/^bad\.yaml:3: invalid YAML: unexpected end/),
    ]);
  });
});
