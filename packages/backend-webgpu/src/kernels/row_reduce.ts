/** WGSL workgroup-wide sum and max over one value per thread (call from uniform control flow). */
export function rowReduceWgsl(wg: number): string {
  return `var<workgroup> red: array<f32, ${wg}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
}

/**
 * Short rows (n ≤ 1024) in number: a workgroup of `wg` threads takes wg/G rows, G threads a row.
 * Each thread keeps its `units` units of the row in registers (a unit is one value, or a pair of
 * 16-bit values read and written as one word), so a row is read once and written once, coalesced.
 */
export interface GroupedRows {
  /** Threads per row. */
  G: number;
  /** Units per thread. */
  units: number;
  /** 1, or 2: pairs of 16-bit values through NAME_ld2 / NAME_st2. */
  U: 1 | 2;
}

export function groupedRows(n: number, half: boolean): GroupedRows {
  const U = half && n % 2 === 0 ? 2 : 1;
  const perRow = Math.ceil(n / U);
  // about 8 units a thread, 4 to 64 threads a row
  const G = Math.min(64, Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(perRow / 8))))));
  return { G, units: Math.ceil(perRow / G), U };
}

/** WGSL sums and maxima over the G threads of each row group (call from uniform control flow). */
export function groupReduceWgsl(wg: number, G: number): string {
  const step = (op: string) => `gred[lid] = v;
  workgroupBarrier();
  let r = lid % ${G}u;
  for (var s = ${G / 2}u; s > 0u; s >>= 1u) {
    if (r < s) { gred[lid] = ${op}; }
    workgroupBarrier();
  }
  let out = gred[lid - r];
  workgroupBarrier();
  return out;`;
  return `var<workgroup> gred: array<f32, ${wg}>;
fn grp_sum(v: f32, lid: u32) -> f32 {
  ${step('gred[lid] + gred[lid + s]')}
}
fn grp_max(v: f32, lid: u32) -> f32 {
  ${step('max(gred[lid], gred[lid + s])')}
}`;
}
