import fs from "node:fs";

/**
 * At most `limit` bytes of a regular file. Opened non-blocking (a FIFO swapped in after the
 * listing must not block the open), then checked to be a regular file on the open descriptor.
 */
export function readFileBounded(file: string, limit: number): { text: string; mtime: number } | { problem: string } | { tooLarge: true } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return { problem: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? "error"})` };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { problem: "not a regular file" };
    if (stat.size > limit) return { tooLarge: true };
    const buffer = Buffer.alloc(Math.min(limit + 1, stat.size + 1));
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    // It grew between fstat and read: still bounded, still refused.
    if (length > limit) return { tooLarge: true };
    return { text: buffer.subarray(0, length).toString("utf8"), mtime: Math.floor(stat.mtimeMs / 1000) };
  } finally {
    fs.closeSync(fd);
  }
}
