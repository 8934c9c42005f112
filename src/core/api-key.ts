/**
 * Who is calling: a key of `keys.yaml` as the server holds it once the key presented was checked
 * (by its SHA-256 hash, never kept in plaintext). Requests on an open server (no keys file, loopback)
 * carry none. Limits that are absent do not apply.
 */
export interface ApiKey {
  readonly name: string;
  readonly role: "user" | "admin";
  /** Model names, refs (`provider::api_version::model`) or globs this key may use; absent: every model. */
  readonly models?: readonly string[];
  /** Requests per minute. */
  readonly rpm?: number;
  /** Tokens (prompt + completion, as each response reports its usage) per minute. */
  readonly tpm?: number;
  /** Requests of this key being served at once. */
  readonly max_concurrent?: number;
  /** When the key stops working (epoch ms); absent: never. */
  readonly expires?: number;
}
