//! Rows of a matrix cut into fixed groups of floats, so that the summing
//! loops work in whole vectors whatever the layer's width.

/// Outputs handled together: registers hold them while a row's terms are
/// summed (two AVX-512 vectors). Wider layers take several passes.
pub(super) const GROUP: usize = 32;

/// Aligned to cache lines: a vector load that straddles two lines costs
/// two.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Group(pub(super) [f32; GROUP]);

pub(super) const ZERO: Group = Group([0.0; GROUP]);

// Both loops run in whole 16-float runs, which the compiler maps onto full
// vectors.

#[inline(always)]
pub(super) fn add(acc: &mut Group, terms: &Group) {
    for (a, t) in acc.0.chunks_exact_mut(16).zip(terms.0.chunks_exact(16)) {
        for i in 0..16 {
            a[i] += t[i];
        }
    }
}

/// `acc + x·terms`, each lane rounded once.
#[inline(always)]
pub(super) fn multiply_add(acc: &mut Group, x: f32, terms: &Group) {
    for (a, t) in acc.0.chunks_exact_mut(16).zip(terms.0.chunks_exact(16)) {
        for i in 0..16 {
            a[i] = x.mul_add(t[i], a[i]);
        }
    }
}

/// Adds a block's sum to the total, or starts the total with the first.
#[inline(always)]
pub(super) fn join(total: &mut Group, sum: &Group, first_block: bool) {
    if first_block {
        *total = *sum;
    } else {
        add(total, sum);
    }
}

/// A `(rows, width)` matrix with each row cut into zero-padded groups.
pub(super) fn grouped(values: &[f32], width: usize) -> Vec<Group> {
    // Sized up front and filled in place: collected from `flat_map`, which
    // cannot say its length, the 0.8 MB of a batch's `∂L/∂h` would grow by
    // doubling, a copy that `perf record` on a default `train` shows at
    // several times the cost of this loop.
    let per_row = width.div_ceil(GROUP);
    let mut groups = vec![ZERO; values.len() / width.max(1) * per_row];
    for (row_groups, row) in groups
        .chunks_exact_mut(per_row)
        .zip(values.chunks_exact(width))
    {
        for (group, part) in row_groups.iter_mut().zip(row.chunks(GROUP)) {
            for (lane, &value) in group.0.iter_mut().zip(part) {
                *lane = value;
            }
        }
    }
    groups
}

/// Group `g` of a row of outputs, `out`, from `sum`: its padding lanes,
/// past the row's end, are dropped.
#[inline(always)]
pub(super) fn put(out: &mut [f32], g: usize, sum: &Group) {
    let end = out.len().min((g + 1) * GROUP);
    let out = &mut out[g * GROUP..end];
    out.copy_from_slice(&sum.0[..out.len()]);
}

/// The rows of `width` floats that `grouped` cut, written back into `out`.
pub(super) fn ungrouped(groups: &[Group], width: usize, out: &mut [f32]) {
    let per_row = width.div_ceil(GROUP);
    for (out, row) in out.chunks_mut(width).zip(groups.chunks(per_row)) {
        for (g, group) in row.iter().enumerate() {
            put(out, g, group);
        }
    }
}
