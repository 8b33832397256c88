/** True when `length` bytes at `offset` are all 0xFF: flash that was erased and never written since. */
export function isErased(data: Uint8Array, offset: number, length: number): boolean {
  for (let index = offset; index < offset + length; index++) if (data[index] !== 0xff) return false;
  return true;
}
