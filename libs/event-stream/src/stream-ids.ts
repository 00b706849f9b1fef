/** A Redis stream id `<ms>-<seq>`, as a client may send it back in `since`. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Orders two stream ids (`<ms>-<seq>`): negative when `a` is older than `b`. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-');
  const [bMs, bSeq] = b.split('-');
  const byMs = BigInt(aMs!) - BigInt(bMs!);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(aSeq ?? '0') - BigInt(bSeq ?? '0');
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}
