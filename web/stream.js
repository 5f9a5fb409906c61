// Sources for the streaming API: a Blob or File of little-endian float32
// bytes, a function returning a fresh (async) iterable of Float32Arrays, or
// such an iterable itself (read once, so only with a given encoding).

const BLOB_SLICE_BYTES = 1 << 22; // 4 MiB a read: few awaits, bounded memory

async function* blobChunks(blob) {
  if (blob.size % 4 !== 0) {
    throw new RangeError(`wasmquant: a Blob of float32 values needs a size divisible by 4, got ${blob.size} bytes`);
  }
  for (let offset = 0; offset < blob.size; offset += BLOB_SLICE_BYTES) {
    const bytes = await blob.slice(offset, offset + BLOB_SLICE_BYTES).arrayBuffer();
    yield new Float32Array(bytes);
  }
}

async function* checked(iterable) {
  for await (const chunk of iterable) {
    if (!(chunk instanceof Float32Array)) {
      const got = chunk === null ? 'null' : (chunk?.constructor?.name ?? typeof chunk);
      throw new TypeError(`wasmquant: a stream must yield Float32Array chunks, got ${got}`);
    }
    yield chunk;
  }
}

function isIterable(source) {
  return source != null && (typeof source[Symbol.asyncIterator] === 'function' || typeof source[Symbol.iterator] === 'function');
}

// { rereadable, open() → async iterable of Float32Array chunks }
export function streamSource(source) {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { rereadable: true, open: () => blobChunks(source) };
  }
  if (typeof source === 'function') {
    return {
      rereadable: true,
      open: () => {
        const iterable = source();
        if (!isIterable(iterable)) {
          throw new TypeError('wasmquant: a stream source function must return an iterable of Float32Arrays');
        }
        return checked(iterable);
      },
    };
  }
  if (isIterable(source)) {
    let opened = false;
    return {
      rereadable: false,
      open: () => {
        if (opened) throw new TypeError('wasmquant: this stream source can be read only once');
        opened = true;
        return checked(source);
      },
    };
  }
  throw new TypeError(
    'wasmquant: a stream source must be a Blob/File of float32 bytes, a function returning an iterable of Float32Arrays, or such an iterable',
  );
}
