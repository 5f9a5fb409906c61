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

// Anything the core throws that is not already one of our errors: a C++
// allocation failure arrives as a bare number, an abort as a RuntimeError.
export function readableError(e) {
  if (e instanceof Error && !(e instanceof WebAssembly.RuntimeError)) return e;
  const what = typeof e === 'number' ? 'could not allocate memory' : String(e?.message ?? e);
  return new Error(
    `wasmquant: the WebAssembly core failed (${what}); the input may be too large for wasm memory (4 GiB at most) — try the streaming API or fewer channels`,
  );
}

// Wraps the named methods of a class so that they throw only readable errors.
export function withReadableErrors(Class, names) {
  for (const name of names) {
    const method = Class.prototype[name];
    const wrapped =
      method.constructor.name === 'AsyncFunction'
        ? async function (...args) {
            try {
              return await method.apply(this, args);
            } catch (e) {
              throw readableError(e);
            }
          }
        : function (...args) {
            try {
              return method.apply(this, args);
            } catch (e) {
              throw readableError(e);
            }
          };
    Object.defineProperty(Class.prototype, name, { value: wrapped, writable: true, configurable: true });
  }
}
