//! The fused engine's two input products, the input currents `h = x·W1`
//! and the gradient `∂L/∂W1 = xᵀ·∂L/∂h`, in two forms. From active-input
//! lists (`spikes::ActiveBatch`) a step's currents are the sum of its
//! active inputs' W1 rows, and an input's gradient the sum of `∂L/∂h` over
//! the steps where it fired: a fifth of the dense arithmetic at the default
//! envelope power, a thirtieth at power 100. From dense spikes, libtorch
//! multiplies. `lists_are_faster` chooses per data set.
//!
//! Float sums depend on their order, so both forms fix one: the order
//! measured for libtorch 2.13's product (MKL's sgemm) on AVX-512 x86 with
//! one thread. Each output is summed along the inner dimension in blocks of
//! 384 terms, each block from zero, the block sums added in order, and a
//! remainder of 385 to 767 terms split into two halves. So on such machines
//! the two forms agree bit for bit (the spikes are 0 or 1, and
//! `fma(1, w, acc)` is `acc + w` rounded once), and on every machine the
//! engine's numbers do not depend on the thread count, as one product of
//! MKL's does: with two threads it splits a sum of 6,400 steps in two.

use std::ops::Range;

use anyhow::{ensure, Result};
use tch::Tensor;

use crate::host;
use crate::spikes::{ActiveBatch, Spikes, StepsByInput};

/// Whether spikes of this density are read faster as lists. The list
/// loops run on one thread and the dense products on all, so the bound
/// falls with the thread count. Measured for a batch of 64
/// (`loss_and_gradients`, fastest of 60, lists and dense interleaved), the
/// lists' time over the dense one's: on one thread 1.15 at density 0.6
/// (envelope power 0), 0.95 at 0.3 (power 1), 0.89 at 0.225 (power 2),
/// 0.77 at 0.106 (power 10), 0.69 at 0.034 (power 100); on two threads 1.47,
/// 1.38, 1.2, 1.05 and 0.92. More threads were not measured: the bound is
/// carried on in proportion, as the dense products speed up and the lists
/// do not.
pub(super) fn lists_are_faster(density: f64) -> bool {
    let bound = match tch::get_num_threads().max(1) {
        1 => 0.4,
        threads => 0.14 / threads as f64,
    };
    density < bound
}

/// Terms summed from zero before a block's sum joins the total.
const BLOCK: usize = 384;

/// Outputs handled together: registers hold them while a row's terms are
/// summed (two AVX-512 vectors). Wider layers take several passes.
const GROUP: usize = 32;

/// Aligned to cache lines: a vector load that straddles two lines costs
/// two.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group([f32; GROUP]);

const ZERO: Group = Group([0.0; GROUP]);

/// The blocks in which sums over `0..len` are taken.
fn blocks(len: usize) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let mut start = 0;
    while len - start > 2 * BLOCK {
        blocks.push(start..start + BLOCK);
        start += BLOCK;
    }
    let rest = len - start;
    if rest > BLOCK {
        let half = rest.div_ceil(2);
        blocks.push(start..start + half);
        start += half;
    }
    blocks.push(start..len);
    blocks
}

#[inline(always)]
fn add(acc: &mut Group, terms: &Group) {
    // In whole 16-float runs, which the compiler maps onto full vectors.
    for (a, t) in acc.0.chunks_exact_mut(16).zip(terms.0.chunks_exact(16)) {
        for i in 0..16 {
            a[i] += t[i];
        }
    }
}

/// A `(rows, width)` matrix with each row cut into zero-padded groups.
fn grouped(values: &[f32], width: usize) -> Vec<Group> {
    values
        .chunks(width)
        .flat_map(|row| row.chunks(GROUP))
        .map(|part| {
            let mut group = ZERO;
            group.0[..part.len()].copy_from_slice(part);
            group
        })
        .collect()
}

/// The input currents `(batch, steps, hidden)` through `w1` `(inputs,
/// hidden)`, contiguous.
pub(super) fn input_currents(spikes: &Spikes, w1: &Tensor) -> Result<Tensor> {
    let batch = match spikes {
        // libtorch sums each output over the inputs in `blocks` order at
        // any thread count: its threads split rows, not sums (measured
        // with 200 and 600 inputs).
        Spikes::Dense(x) => {
            return Ok(Tensor::f_einsum("abc,cd->abd", &[x, w1], None::<i64>)?.f_contiguous()?)
        }
        Spikes::Active(batch) => batch,
    };
    let w1 = w1.f_contiguous()?;
    let hidden = check_width(batch, &w1)?;
    let rows: Vec<&[u16]> = batch.rows().collect();
    let mut h = host::empty::<f32>(&[batch.batch(), batch.steps(), hidden])?;
    let weights = grouped(host::slice::<f32>(&w1)?, hidden);
    let blocks = blocks(batch.inputs());
    sum_rows(&rows, &weights, &blocks, host::slice_mut::<f32>(&mut h)?);
    Ok(h)
}

/// `∂L/∂W1` `(inputs, hidden)` from the batch's `∂L/∂h`, `(batch, steps,
/// hidden)` contiguous float32.
pub(super) fn w1_gradient(spikes: &Spikes, gh: &Tensor) -> Result<Tensor> {
    let [batch, steps, inputs] = spikes.shape()?;
    let hidden = *gh.size().last().unwrap_or(&0) as usize;
    ensure!(
        gh.size() == [batch, steps, hidden].map(|d| d as i64),
        "∂L/∂h of shape {:?} does not fit a batch of {batch} × {steps} steps",
        gh.size()
    );
    let by_input = match spikes {
        Spikes::Active(batch) => match batch.steps_by_input() {
            Some(by_input) => by_input,
            None => return summed_over_rows(&batch.dense()?, gh),
        },
        Spikes::Dense(x) => return summed_over_rows(x, gh),
    };
    let mut grad = host::empty::<f32>(&[inputs, hidden])?;
    let gh = grouped(host::slice::<f32>(gh)?, hidden);
    let sums = sum_by_input(&by_input, steps, inputs, &gh, &blocks(batch * steps));
    let grad_out = host::slice_mut::<f32>(&mut grad)?;
    let groups = hidden.div_ceil(GROUP);
    for (out, row) in grad_out.chunks_mut(hidden).zip(sums.chunks(groups)) {
        for (out, group) in out.chunks_mut(GROUP).zip(row) {
            out.copy_from_slice(&group.0[..out.len()]);
        }
    }
    Ok(grad)
}

/// `Σ_rows xᵀ·g` for `(…, a)` and `(…, b)` tensors with the same rows,
/// `(a, b)`: the dense form of `w1_gradient`. libtorch's batched product
/// forms every block's sum at once, each in order whatever the thread count
/// (with two threads, one product over all rows would be split in two by
/// MKL), and the block sums are added in order here.
pub(super) fn summed_over_rows(x: &Tensor, g: &Tensor) -> Result<Tensor> {
    let (a, b) = (
        *x.size().last().unwrap_or(&0),
        *g.size().last().unwrap_or(&0),
    );
    let (x, g) = (x.f_reshape([-1, a])?, g.f_reshape([-1, b])?);
    let rows = x.size()[0] as usize;
    ensure!(
        g.size()[0] as usize == rows,
        "{rows} rows against {}",
        g.size()[0]
    );
    let mut total = host::empty::<f32>(&[a as usize, b as usize])?;
    let sums = host::slice_mut::<f32>(&mut total)?;
    let blocks = blocks(rows);
    // Runs of blocks of one length, each run one batched product.
    for (n, run) in blocks.chunk_by(|p, q| p.len() == q.len()).enumerate() {
        let (start, len, count) = (run[0].start as i64, run[0].len() as i64, run.len() as i64);
        let x_run = x.f_narrow(0, start, count * len)?.f_view([count, len, a])?;
        let g_run = g.f_narrow(0, start, count * len)?.f_view([count, len, b])?;
        let parts = x_run.f_transpose(1, 2)?.f_bmm(&g_run)?.f_contiguous()?;
        for (k, part) in host::slice::<f32>(&parts)?
            .chunks(sums.len().max(1))
            .enumerate()
        {
            if n == 0 && k == 0 {
                sums.copy_from_slice(part);
            } else {
                sums.iter_mut().zip(part).for_each(|(s, p)| *s += p);
            }
        }
    }
    Ok(total)
}

fn check_width(batch: &ActiveBatch, w1: &Tensor) -> Result<usize> {
    let size = w1.size();
    ensure!(
        size.len() == 2 && size[0] as usize == batch.inputs(),
        "W1 of shape {size:?} does not take {} inputs",
        batch.inputs()
    );
    Ok(size[1] as usize)
}

/// Compiles `$name` for the widest vector unit the CPU has and picks that
/// copy at run time: the release build targets baseline x86-64 (4-wide
/// SSE2), while the loops below are as wide as the CPU allows. Float adds
/// work lane by lane, so every width gives the same bits.
macro_rules! widest_vectors {
    (fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn kernel($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { kernel($($arg),*) }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { kernel($($arg),*) }
                // SAFETY: each copy runs only where the CPU has its features.
                if std::is_x86_feature_detected!("avx512f") {
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") {
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}

widest_vectors! {
    fn sum_rows(rows: &[&[u16]], weights: &[Group], blocks: &[Range<usize>], out: &mut [f32]) {
        let hidden = out.len() / rows.len().max(1);
        let groups = hidden.div_ceil(GROUP);
        for (pair, out) in rows.chunks(2).zip(out.chunks_mut(2 * hidden)) {
            let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(&[]));
            for g in 0..groups {
                let row = |i: u16| &weights[i as usize * groups + g];
                let (mut total_a, mut total_b) = (ZERO, ZERO);
                let (mut rest_a, mut rest_b) = (a, b);
                for (n, block) in blocks.iter().enumerate() {
                    let (terms_a, terms_b) = (
                        take_below(&mut rest_a, block.end),
                        take_below(&mut rest_b, block.end),
                    );
                    let (sum_a, sum_b) = two_sums((ZERO, ZERO), terms_a, terms_b, row);
                    join(&mut total_a, &sum_a, n == 0);
                    join(&mut total_b, &sum_b, n == 0);
                }
                for (out, total) in out.chunks_mut(hidden).zip([total_a, total_b]) {
                    let out = &mut out[g * GROUP..hidden.min((g + 1) * GROUP)];
                    out.copy_from_slice(&total.0[..out.len()]);
                }
            }
        }
    }
}

/// `sums` plus `Σ_k term(a_k)` and `Σ_k term(b_k)`, each in list order,
/// side by side: one sum is a chain of dependent adds, so two chains keep
/// the adder busy.
#[inline(always)]
fn two_sums<'a, T: Copy>(
    sums: (Group, Group),
    a: &[T],
    b: &[T],
    term: impl Fn(T) -> &'a Group,
) -> (Group, Group) {
    let (mut sum_a, mut sum_b) = sums;
    let common = a.len().min(b.len());
    for k in 0..common {
        add(&mut sum_a, term(a[k]));
        add(&mut sum_b, term(b[k]));
    }
    a[common..].iter().for_each(|&i| add(&mut sum_a, term(i)));
    b[common..].iter().for_each(|&i| add(&mut sum_b, term(i)));
    (sum_a, sum_b)
}

/// Adds a block's sum to the total, or starts the total with the first.
#[inline(always)]
fn join(total: &mut Group, sum: &Group, first_block: bool) {
    if first_block {
        *total = *sum;
    } else {
        add(total, sum);
    }
}

/// Splits off the leading inputs of an ascending list that are below `end`.
#[inline(always)]
fn take_below<'a>(list: &mut &'a [u16], end: usize) -> &'a [u16] {
    match list.last() {
        Some(&i) if i as usize >= end => {}
        _ => return std::mem::take(list),
    }
    let (below, rest) = list.split_at(list.partition_point(|&i| (i as usize) < end));
    *list = rest;
    below
}

widest_vectors! {
    fn sum_by_input(samples: &[StepsByInput], steps: usize, inputs: usize, terms: &[Group], blocks: &[Range<usize>]) -> Vec<Group> {
        let groups = terms.len() / (samples.len() * steps).max(1);
        let mut total = vec![ZERO; inputs * groups];
        for (n, block) in blocks.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            // The block's rows are steps of consecutive samples of the batch.
            let in_block = block.start / steps..(block.end - 1) / steps + 1;
            for g in 0..groups {
                for first in (0..inputs).step_by(2) {
                    let mut sums = (ZERO, ZERO);
                    for b in in_block.clone() {
                        let row0 = b * steps;
                        let within = block.start.max(row0) - row0..block.end.min(row0 + steps) - row0;
                        let fired = |i: usize| match i < inputs {
                            true => steps_within(samples[b].of(i), &within),
                            false => &[][..],
                        };
                        let term = |t: u16| &terms[(row0 + t as usize) * groups + g];
                        sums = two_sums(sums, fired(first), fired(first + 1), term);
                    }
                    for (i, sum) in [(first, sums.0), (first + 1, sums.1)] {
                        if i < inputs {
                            join(&mut total[i * groups + g], &sum, n == 0);
                        }
                    }
                }
            }
        }
        total
    }
}

/// The steps of an ascending list that fall in `within`.
#[inline(always)]
fn steps_within<'a>(list: &'a [u16], within: &Range<usize>) -> &'a [u16] {
    let whole = list.first().map_or(true, |&t| t as usize >= within.start)
        && list.last().map_or(true, |&t| (t as usize) < within.end);
    if whole {
        return list;
    }
    let start = list.partition_point(|&t| (t as usize) < within.start);
    let end = list.partition_point(|&t| (t as usize) < within.end);
    &list[start..end]
}

#[cfg(test)]
mod tests {
    use super::blocks;

    #[test]
    fn blocks_cover_the_sum_as_measured_for_mkl() {
        let sizes = |len| blocks(len).iter().map(|b| b.len()).collect::<Vec<_>>();
        assert_eq!(sizes(200), [200]);
        assert_eq!(sizes(384), [384]);
        assert_eq!(sizes(385), [193, 192]);
        assert_eq!(sizes(768), [384, 384]);
        assert_eq!(sizes(769), [384, 193, 192]);
        let mut expected = vec![384; 15];
        expected.extend([320, 320]);
        assert_eq!(sizes(6400), expected);
        for len in [1, 383, 1000, 6401, 12850] {
            let b = blocks(len);
            assert_eq!(b[0].start, 0);
            assert!(b.windows(2).all(|w| w[0].end == w[1].start));
            assert_eq!(b.last().unwrap().end, len);
        }
    }
}
