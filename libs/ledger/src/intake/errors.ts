/** Bad input at intake: the request or file is refused before anything is written. */
export class IntakeError extends Error {
  override readonly name = 'IntakeError';
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}
