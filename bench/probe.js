// What a first touch of memory costs here: on some hosts (a VM that maps
// guest pages lazily) writing fresh memory is tens of times slower than
// writing it again, and that, more than the CPU, moves every ratio whose
// contender returns a new array. Median of 3 fills of 64 MiB.
export function pageFaultProbe() {
  const runs = [];
  for (let r = 0; r < 3; r += 1) {
    const t0 = performance.now();
    const a = new Uint8Array(64 << 20);
    a.fill(1);
    const t1 = performance.now();
    a.fill(2);
    runs.push({ freshMs: t1 - t0, touchedMs: performance.now() - t1 });
  }
  const median = (key) => runs.map((x) => x[key]).sort((a, b) => a - b)[1];
  return { freshMs: median('freshMs'), touchedMs: median('touchedMs') };
}

export function describePageFaults({ freshMs, touchedMs }) {
  return (
    `filling 64 MiB of fresh memory took ${freshMs.toFixed(1)} ms, filling it again ${touchedMs.toFixed(1)} ms ` +
    `(${(freshMs / touchedMs).toFixed(0)}×: first-touch page faults, paid by every call that returns a new array ` +
    'and by the first use of wasm memory)'
  );
}
