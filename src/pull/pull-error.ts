/**
 * A refusal or failure of `understudy pull`: the CLI prints its message and exits non-zero. Not an
 * ApiError: no HTTP request is being answered, the operator reads it on a terminal.
 */
export class PullError extends Error {
  constructor(
    message: string,
    /** The process exit code: 1 for a refusal or failure, 130 for an interrupt (the shell's SIGINT convention). */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "PullError";
  }
}

/** The download was stopped by Ctrl-C (SIGINT/SIGTERM): the partial file stays for the next pull to resume. */
export class PullInterruptedError extends PullError {
  constructor(partial: string) {
    super(`interrupted: the partial download is kept at ${partial}; run the same pull again to resume it`, 130);
  }
}
