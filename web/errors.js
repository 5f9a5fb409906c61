// Status kinds of the C++ core (src/wasmquant/status.h) as JS errors.
const ERROR_CLASSES = [null, RangeError, TypeError, Error];

export function throwIfError(status) {
  if (status.kind !== 0) {
    const ErrorClass = ERROR_CLASSES[status.kind] ?? Error;
    throw new ErrorClass(`wasmquant: ${status.message}`);
  }
  return status;
}

// For the per-chunk methods, which return only the status kind; the
// message comes from the object that failed.
export function throwIfFailed(kind, source) {
  if (kind !== 0) throwIfError({ kind, message: source.error() });
}
