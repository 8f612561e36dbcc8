/** WGSL computing `aoff`, `boff`, `coff` (element offsets) for output batch `bz` of a matmul. */
export function batchOffsetsWgsl(rank: number, at: number): string {
  if (rank === 0) return 'let aoff = 0u; let boff = 0u; let coff = bz * M * N;';
  return `var aoff = 0u; var boff = 0u; let coff = bz * M * N;
  { var rem = bz;
    for (var k = ${rank - 1}i; k >= 0; k--) {
      let p = ${at}u + 3u * u32(k);
      let d = pu(p); let c = rem % d; rem = rem / d;
      aoff += c * pu(p + 1u); boff += c * pu(p + 2u);
    } }`;
}
