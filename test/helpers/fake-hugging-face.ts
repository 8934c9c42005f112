/**
 * A fake Hugging Face hub on 127.0.0.1 for `understudy pull`: repositories of files served under
 * `/<user>/<repo>/resolve/<rev>/<path>` (HEAD and GET, `Range: bytes=a-b`, `X-Linked-Etag` with the
 * sha256 as the hub sends it), their listing under `/api/models/<user>/<repo>/tree/<rev>` (with
 * `lfs.oid`, the sha256), and plain files under `/files/<name>`. Every request is recorded; a
 * `stall` predicate makes chosen ranged downloads send their headers and a few bytes, then hang
 * (the "slow network" a test interrupts).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface HubRequest {
  method: string;
  path: string;
  /** The start of a `Range: bytes=<start>-` request (undefined without one). */
  rangeStart?: number;
  authorization?: string;
}

export interface HubFile {
  content: Buffer;
  /** The sha256 the listing and `X-Linked-Etag` publish (default: the content's real one). */
  publishedSha256?: string;
  /** The size the listing gives (default: the content's). */
  listedSize?: number;
}

export interface FakeHub {
  /** `http://127.0.0.1:<port>`: what HF_ENDPOINT is set to. */
  url: string;
  requests: HubRequest[];
  /** Files by repository (`user/repo`) and path. */
  repos: Map<string, Map<string, HubFile>>;
  /** Plain files under `/files/<name>`. */
  files: Map<string, HubFile>;
  /** When it answers true, the ranged GET starting at `start` hangs after a few bytes. */
  stall?: (start: number) => boolean;
  close(): Promise<void>;
}

export const sha256Hex = (data: Buffer) => crypto.createHash("sha256").update(data).digest("hex");
const published = (f: HubFile) => f.publishedSha256 ?? sha256Hex(f.content);

function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? "");
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { start, end };
}

function serveFile(hub: FakeHub, req: http.IncomingMessage, res: http.ServerResponse, file: HubFile): void {
  const size = file.content.length;
  const common = { "accept-ranges": "bytes", "x-linked-etag": `"${published(file)}"`, "content-type": "application/octet-stream" };
  const range = parseRange(req.headers.range, size);
  if (range && (range.start >= size || range.end < range.start)) {
    res.writeHead(416, { "content-range": `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers = { ...common, "content-length": String(end - start + 1), ...(range ? { "content-range": `bytes ${start}-${end}/${size}` } : {}) };
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const body = file.content.subarray(start, end + 1);
  if (range && hub.stall?.(start)) {
    // A few bytes, then nothing: the download is "slow" until the client gives up or the hub closes.
    res.write(body.subarray(0, Math.min(1024, body.length)));
    return;
  }
  res.end(body);
}

function listing(repo: Map<string, HubFile>) {
  return [...repo].map(([path, f]) => ({
    type: "file",
    path,
    size: f.listedSize ?? f.content.length,
    oid: "0".repeat(40),
    lfs: { oid: published(f), size: f.listedSize ?? f.content.length, pointerSize: 134 },
  }));
}

export async function startFakeHub(): Promise<FakeHub> {
  const sockets = new Set<Socket>();
  const hub: FakeHub = { url: "", requests: [], repos: new Map(), files: new Map(), close: async () => {} };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const range = parseRange(req.headers.range, Number.MAX_SAFE_INTEGER);
    hub.requests.push({ method: req.method ?? "", path: url.pathname, rangeStart: range?.start, authorization: req.headers.authorization });
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    if (tree) {
      const repo = hub.repos.get(decodeURIComponent(tree[1]));
      if (!repo) return void res.writeHead(404, { "content-type": "application/json" }).end('{"error":"Repository not found"}');
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(listing(repo)));
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const file = resolve
      ? hub.repos.get(decodeURIComponent(resolve[1]))?.get(resolve[3].split("/").map(decodeURIComponent).join("/"))
      : url.pathname.startsWith("/files/")
        ? hub.files.get(decodeURIComponent(url.pathname.slice("/files/".length)))
        : undefined;
    if (!file) return void res.writeHead(404).end("Entry not found");
    serveFile(hub, req, res, file);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return hub;
}
