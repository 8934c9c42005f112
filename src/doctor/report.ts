/** The doctor's output: the model × check table with the reasons under it, the progress display, and the CLI action. */
import { MODEL_CHECKS, runDoctor, type DoctorReport, type Progress } from "./matrix.js";
import type { CheckResult } from "./check-types.js";

const MARK: Record<CheckResult["status"], string> = { pass: "pass", fail: "FAIL", skip: "skip" };
const BAR_WIDTH = 24;

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - text.length));

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => pad(cell, widths[i]))
      .join("  ")
      .trimEnd(),
  );
}

/** The report as text: the server checks, the matrix (a row per check, a column per model), then every reason. */
export function formatReport(report: DoctorReport): string {
  const lines = [`understudy doctor: ${report.url} (${report.models.length} model(s), ${(report.ms / 1000).toFixed(1)} s)`, ""];
  const offered = Object.entries(report.surfaces).map(([s, on]) => `${s} ${on ? "offered" : "not offered"}`);
  lines.push(...table([["server", "", ""], ...Object.entries(report.server).map(([name, r]) => [`  ${name}`, MARK[r.status], `${r.ms} ms`])]));
  lines.push(`  surfaces: ${offered.join(", ")}`, "");
  if (report.models.length > 0) {
    const rows = [["check", ...report.models]];
    for (const check of MODEL_CHECKS) rows.push([check.name, ...report.models.map((m) => MARK[report.matrix[m][check.name].status])]);
    lines.push(...table(rows), "");
  }
  const notes = [
    ...Object.entries(report.server).map(([check, r]) => ({ where: check, r })),
    ...report.models.flatMap((m) => Object.entries(report.matrix[m]).map(([check, r]) => ({ where: `${m} ${check}`, r }))),
  ].filter(({ r }) => r.reason);
  for (const { where, r } of notes) lines.push(`${MARK[r.status]} ${where}: ${r.reason}`);
  if (report.unchecked.length) lines.push(`not checked (over --max-models): ${report.unchecked.join(", ")}`);
  const failures = notes.filter(({ r }) => r.status === "fail").length;
  lines.push(report.ok ? "all checks passed" : `${failures} check(s) failed`);
  return lines.join("\n");
}

/** A progress bar redrawn in place on a terminal; a line per check otherwise (logs, CI). */
export function progressPrinter(stream: NodeJS.WriteStream): (p: Progress) => void {
  return (p) => {
    const what = `${p.model ?? "server"} ${p.check}`;
    if (!stream.isTTY) {
      stream.write(`[${p.done}/${p.total}] ${what}: ${p.result.status}${p.result.reason ? ` (${p.result.reason})` : ""}\n`);
      return;
    }
    const filled = Math.round((p.done / p.total) * BAR_WIDTH);
    stream.write(`\r\x1b[2K[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${p.done}/${p.total} ${what}`);
    if (p.done === p.total) stream.write("\r\x1b[2K");
  };
}

export interface DoctorCliOptions {
  url?: string;
  key?: string;
  model?: string[];
  json?: boolean;
  timeout?: string;
  totalTimeout?: string;
  maxModels?: string;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not '${value}'`);
  return n;
}

/** `understudy doctor`: runs the matrix, prints it (or JSON), exits 1 on any failure. */
export async function doctorCommand(opts: DoctorCliOptions): Promise<void> {
  const seconds = (v: string | undefined, name: string) => {
    const n = positive(v, name);
    return n === undefined ? undefined : n * 1000;
  };
  const report = await runDoctor({
    url: opts.url,
    key: opts.key ?? process.env.OPENAI_API_KEY,
    models: opts.model,
    checkTimeoutMs: seconds(opts.timeout, "--timeout"),
    totalTimeoutMs: seconds(opts.totalTimeout, "--total-timeout"),
    maxModels: positive(opts.maxModels, "--max-models"),
    onResult: progressPrinter(process.stderr),
  });
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (!report.ok) process.exitCode = 1;
}
