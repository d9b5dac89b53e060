//! Products of dense float32 matrices, summed in `blocks` order by fused
//! multiply-adds from zero, as MKL's one-thread sgemm does (measured on
//! AVX-512 for inner lengths 12 and 30 as well as the longer input sums).
//! The readout's products always come here; the input products only for
//! spikes that arrive dense or too wide for lists.
//!
//! Threads split the outputs, never a sum, as in `lists`.

use std::ops::Range;

use super::group::{grouped, join, multiply_add, put, ungrouped, Group, GROUP, ZERO};
use super::{Left, Workers};

/// `x·w` into `out`: `x` is `(rows, k)`, `w` `(k, n)` and `out` `(rows,
/// n)`, all row-major.
pub(super) fn times(
    x: &[f32],
    left: Left,
    w: &[f32],
    n: usize,
    blocks: &[Range<usize>],
    workers: &Workers,
    out: &mut [f32],
) {
    let k = w.len() / n.max(1);
    if k == 0 || n == 0 {
        out.fill(0.0);
        return;
    }
    let w = grouped(w, n);
    workers.fill_rows(out, n, 1, |first, out| {
        let rows = out.len() / n;
        rows_times(&x[first * k..(first + rows) * k], left, &w, blocks, out)
    });
}

/// `Σ_r x_rᵀ·g_r` into `out` `(a, b)`, over the rows `r` of `x` `(rows, a)`
/// and `g` `(rows, b)`, each sum in `blocks` over the rows.
pub(super) fn summed_over_rows(
    x: &[f32],
    g: &[f32],
    b: usize,
    blocks: &[Range<usize>],
    workers: &Workers,
    out: &mut [f32],
) {
    if out.is_empty() {
        return;
    }
    let a = out.len() / b;
    let g = grouped(g, b);
    workers.fill_rows(out, b, 1, |first, out| {
        let columns = first..first + out.len() / b;
        let sums = columns_summed(x, a, columns, &g, b.div_ceil(GROUP), blocks);
        ungrouped(&sums, b, out);
    });
}

widest_vectors! {
    fn rows_times = rows_times_kernel(
        x: &[f32],
        left: Left,
        w: &[Group],
        blocks: &[Range<usize>],
        out: &mut [f32],
    );
}

#[inline(always)]
fn rows_times_kernel(x: &[f32], left: Left, w: &[Group], blocks: &[Range<usize>], out: &mut [f32]) {
    let k = blocks.last().map_or(0, |b| b.end);
    let groups = w.len() / k.max(1);
    let n = out.len() / (x.len() / k.max(1)).max(1);
    // Two rows side by side: each sum is a chain of dependent
    // multiply-adds, so two chains keep the unit busy.
    let paired = x.len() / (2 * k) * 2;
    let (x, last_x) = x.split_at(paired * k);
    let (out, last_out) = out.split_at_mut(paired * n);
    for (x, out) in x.chunks_exact(2 * k).zip(out.chunks_exact_mut(2 * n)) {
        for g in 0..groups {
            let sums = row_sums([&x[..k], &x[k..]], left, w, groups, g, blocks);
            for (out, sum) in out.chunks_exact_mut(n).zip(&sums) {
                put(out, g, sum);
            }
        }
    }
    if !last_x.is_empty() {
        for g in 0..groups {
            let [sum] = row_sums([last_x], left, w, groups, g, blocks);
            put(last_out, g, &sum);
        }
    }
}

/// Group `g` of `x_r·w` for each of the `R` rows `x_r`.
#[inline(always)]
fn row_sums<const R: usize>(
    x: [&[f32]; R],
    left: Left,
    w: &[Group],
    groups: usize,
    g: usize,
    blocks: &[Range<usize>],
) -> [Group; R] {
    let mut total = [ZERO; R];
    for (first, block) in blocks.iter().enumerate().map(|(i, b)| (i == 0, b)) {
        let mut sum = [ZERO; R];
        for i in block.clone() {
            let w = &w[i * groups + g];
            for r in 0..R {
                if left == Left::Any || x[r][i] != 0.0 {
                    multiply_add(&mut sum[r], x[r][i], w);
                }
            }
        }
        for r in 0..R {
            join(&mut total[r], &sum[r], first);
        }
    }
    total
}

widest_vectors! {
    fn columns_summed = columns_summed_kernel(
        x: &[f32],
        a: usize,
        columns: Range<usize>,
        g: &[Group],
        groups: usize,
        blocks: &[Range<usize>],
    ) -> Vec<Group>;
}

#[inline(always)]
fn columns_summed_kernel(
    x: &[f32],
    a: usize,
    columns: Range<usize>,
    g: &[Group],
    groups: usize,
    blocks: &[Range<usize>],
) -> Vec<Group> {
    let mut total = vec![ZERO; columns.len() * groups];
    let mut sum = total.clone();
    for (first, block) in blocks.iter().enumerate().map(|(i, b)| (i == 0, b)) {
        sum.fill(ZERO);
        for r in block.clone() {
            let g = &g[r * groups..(r + 1) * groups];
            for (j, sum) in columns.clone().zip(sum.chunks_exact_mut(groups)) {
                let xj = x[r * a + j];
                for (sum, g) in sum.iter_mut().zip(g) {
                    multiply_add(sum, xj, g);
                }
            }
        }
        for (total, sum) in total.iter_mut().zip(&sum) {
            join(total, sum, first);
        }
    }
    total
}
