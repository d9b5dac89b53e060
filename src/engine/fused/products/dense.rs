//! Products of dense float32 matrices, summed in `blocks` order by fused
//! multiply-adds from zero, as MKL's one-thread sgemm does (measured on
//! AVX-512 for inner lengths 12 and 30 as well as the longer input sums).
//! The readout's products always come here; the input products only for
//! spikes that arrive dense or too wide for lists.
//!
//! Threads split the outputs, never a sum, as in `lists`.

use std::ops::Range;

use super::group::{grouped, join, multiply_add, ungrouped, Group, GROUP, ZERO};
use super::Workers;

/// `x·w` into `out`: `x` is `(rows, k)`, `w` `(k, n)` and `out` `(rows,
/// n)`, all row-major.
pub(super) fn times(
    x: &[f32],
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
        rows_times(&x[first * k..(first + rows) * k], &w, blocks, out)
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
        ungrouped(&columns_summed(x, a, columns, &g, blocks), b, out);
    });
}

widest_vectors! {
    fn rows_times(x: &[f32], w: &[Group], blocks: &[Range<usize>], out: &mut [f32]) {
        let k = blocks.last().map_or(0, |b| b.end);
        let groups = w.len() / k.max(1);
        let n = out.len() / (x.len() / k.max(1)).max(1);
        for (x, out) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
            for g in 0..groups {
                let mut total = ZERO;
                for (first, block) in blocks.iter().enumerate().map(|(i, b)| (i == 0, b)) {
                    let mut sum = ZERO;
                    for i in block.clone() {
                        multiply_add(&mut sum, x[i], &w[i * groups + g]);
                    }
                    join(&mut total, &sum, first);
                }
                let out = &mut out[g * GROUP..n.min((g + 1) * GROUP)];
                out.copy_from_slice(&total.0[..out.len()]);
            }
        }
    }
}

widest_vectors! {
    fn columns_summed(x: &[f32], a: usize, columns: Range<usize>, g: &[Group], blocks: &[Range<usize>]) -> Vec<Group> {
        let rows = blocks.last().map_or(0, |b| b.end);
        let groups = g.len() / rows.max(1);
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
}
