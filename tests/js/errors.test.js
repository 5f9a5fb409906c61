// What the core may throw besides its own errors (a C++ allocation failure
// arrives as a bare number, an abort as a WebAssembly.RuntimeError) reaches
// callers as a readable Error; our own errors pass through unchanged.
import { describe, expect, it } from 'vitest';
import { readableError, withReadableErrors } from '../../web/errors.js';

describe('readableError', () => {
  it('turns a bare number and a RuntimeError into an Error a person can act on', () => {
    for (const thrown of [5776792, new WebAssembly.RuntimeError('Aborted(OOM)')]) {
      const e = readableError(thrown);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(WebAssembly.RuntimeError);
      expect(e.message).toMatch(/^wasmquant: the WebAssembly core failed/);
      expect(e.message).toMatch(/streaming API/);
    }
    expect(readableError(5776792).message).toMatch(/could not allocate memory/);
    expect(readableError(new WebAssembly.RuntimeError('Aborted(OOM)')).message).toMatch(/Aborted\(OOM\)/);
  });

  it('leaves our own errors alone', () => {
    const range = new RangeError('wasmquant: bitwidth must be an integer from 2 to 16, got 17');
    expect(readableError(range)).toBe(range);
  });

  it('wraps sync and async methods', async () => {
    class Thrower {
      sync() {
        throw 42;
      }

      async later() {
        throw 43;
      }

      fine() {
        return 'ok';
      }
    }
    withReadableErrors(Thrower, ['sync', 'later', 'fine']);
    const t = new Thrower();
    expect(() => t.sync()).toThrow(/could not allocate memory/);
    await expect(t.later()).rejects.toThrow(/could not allocate memory/);
    expect(t.fine()).toBe('ok');
  });
});
