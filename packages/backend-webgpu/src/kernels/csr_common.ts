/** WGSL shared by the CSR routines: cell bounds (docs/algorithm.md §6) and a row's head segment lookup. */

/**
 * Cell m of a row with L visible keys and Kc cells covers [start, end), start = ⌊m·L/Kc + ½⌋,
 * computed exactly in integers as ⌊(2mL + Kc) / 2Kc⌋.
 */
export const CELL_WGSL = `
fn cell_start(m: u32, L: u32, Kc: u32) -> u32 { return (2u * m * L + Kc) / (2u * Kc); }
`;

/**
 * First entry z in [lo, hi) of CSR values `cl` whose column is ≥ c (columns are grouped by head
 * ascending within a row, so a head's entries are one contiguous run).
 */
export const LOWER_BOUND_WGSL = `
fn lower_bound(lo0: u32, hi0: u32, c: i32) -> u32 {
  var lo = lo0; var hi = hi0;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (cl_ld(mid) < c) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}
`;
