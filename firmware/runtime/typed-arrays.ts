/**
 * Copy `source[start .. end)` into a new Uint8Array.
 * On Espruino 2v29 a typed array's slice() (and filter()) returns a plain Array, and ArrayBuffer has no slice(),
 * so firmware copies bytes with this instead (measured on the interpreter; the simulator's sandbox does the same).
 */
export function copyBytes(source: Uint8Array, start?: number, end?: number): Uint8Array {
  return new Uint8Array(source.subarray(start === undefined ? 0 : start, end === undefined ? source.length : end));
}
