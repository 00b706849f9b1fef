/** Orders two event ids (`<ms>-<seq>`): negative when `a` came first. */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt);
  const [bMs, bSeq] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs! < bMs! ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq! < bSeq! ? -1 : 1;
}
