/** sha256 of downloaded files, compared with what the source publishes. */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { PullError } from "./pull-error.js";

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

/**
 * Checks each file that has an expected sha256 (keyed by base name). A mismatch deletes the files
 * this pull wrote (they are corrupt or not what was asked for: a retry must download them again,
 * not resume into them) and is an error, so nothing is registered.
 */
export async function verifySha256(
  files: readonly string[],
  expected: ReadonlyMap<string, string>,
  discard: (files: readonly string[]) => void,
): Promise<number> {
  let checked = 0;
  for (const file of files) {
    const want = expected.get(path.basename(file));
    if (!want) continue;
    const got = await sha256File(file);
    if (got !== want) {
      discard(files);
      throw new PullError(`checksum mismatch for ${path.basename(file)}: expected sha256 ${want}, got ${got}; the file was deleted and nothing was registered`);
    }
    checked++;
  }
  return checked;
}
