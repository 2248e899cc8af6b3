/**
 * Bad input at intake: the request or file is refused before anything is written. `field` and
 * `reason` are the same whichever door the input came through; `where` says which of several
 * inputs it was (a file the CLI was given, an entry of a JSON list), and leads the message.
 */
export class IntakeError extends Error {
  override readonly name = 'IntakeError';
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly where?: string,
  ) {
    super(`${where ? `${where} ` : ''}${field}: ${reason}`);
  }
}
