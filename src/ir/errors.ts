/** An error a user can act on: bad model, bad IR text, bad input. Never a kiln bug. */
export class KilnError extends Error {
  override name = 'KilnError';
}

/** Raised by an op's type inference; the graph adds which node it was. */
export class OpTypeError extends KilnError {
  override name = 'OpTypeError';
}
