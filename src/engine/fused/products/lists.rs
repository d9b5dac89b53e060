//! The input products from lists of active inputs (`spikes::ActiveBatch`):
//! a step's input currents are the sum of its active inputs' W1 rows, and
//! an input's gradient the sum of `∂L/∂h` over the steps where it fired. A
//! fifth of the dense arithmetic at the default envelope power, a thirtieth
//! at power 100, and only additions, each output's in `blocks` order.
//!
//! Threads split the outputs, never a sum: the currents by rows, the
//! gradient by inputs. So the thread count changes who adds, not what.

use std::ops::Range;

use super::group::{add, grouped, join, put, ungrouped, Group, GROUP, ZERO};
use super::Workers;
use crate::spikes::StepsByInput;

/// The input currents of every row: `out` holds `rows.len()` rows of
/// `hidden` floats, the sums of `w1`'s rows `(inputs, hidden)` named by each
/// of `rows`.
pub(super) fn input_currents(
    rows: &[&[u16]],
    w1: &[f32],
    hidden: usize,
    blocks: &[Range<usize>],
    workers: &Workers,
    out: &mut [f32],
) {
    let weights = grouped(w1, hidden);
    // Pairs of rows are summed side by side, so parts take whole pairs.
    workers.fill_rows(out, hidden, 2, |first, out| {
        let rows = &rows[first..first + out.len() / hidden];
        sum_rows(rows, &weights, blocks, out)
    });
}

/// `∂L/∂W1`, `(inputs, hidden)` in `out`, from each sample's spike steps by
/// input and the batch's `∂L/∂h`, `(batch·steps, hidden)`, summed over the
/// batch's rows in `blocks`.
pub(super) fn w1_gradient(
    samples: &[StepsByInput],
    steps: usize,
    gh: &[f32],
    hidden: usize,
    blocks: &[Range<usize>],
    workers: &Workers,
    out: &mut [f32],
) {
    let terms = grouped(gh, hidden);
    // Inputs are summed in pairs, so parts take whole pairs.
    workers.fill_rows(out, hidden, 2, |first, out| {
        let chosen = first..first + out.len() / hidden;
        let sums = sum_by_input(
            samples,
            steps,
            chosen,
            &terms,
            hidden.div_ceil(GROUP),
            blocks,
        );
        ungrouped(&sums, hidden, out);
    });
}

widest_vectors! {
    fn sum_rows = sum_rows_kernel(
        rows: &[&[u16]],
        weights: &[Group],
        blocks: &[Range<usize>],
        out: &mut [f32],
    );
}

#[inline(always)]
fn sum_rows_kernel(rows: &[&[u16]], weights: &[Group], blocks: &[Range<usize>], out: &mut [f32]) {
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
                put(out, g, &total);
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
    fn sum_by_input = sum_by_input_kernel(
        samples: &[StepsByInput],
        steps: usize,
        inputs: Range<usize>,
        terms: &[Group],
        groups: usize,
        blocks: &[Range<usize>],
    ) -> Vec<Group>;
}

#[inline(always)]
fn sum_by_input_kernel(
    samples: &[StepsByInput],
    steps: usize,
    inputs: Range<usize>,
    terms: &[Group],
    groups: usize,
    blocks: &[Range<usize>],
) -> Vec<Group> {
    let mut total = vec![ZERO; inputs.len() * groups];
    for (n, block) in blocks.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
        // The block's rows are steps of consecutive samples of the batch.
        let in_block = block.start / steps..(block.end - 1) / steps + 1;
        for g in 0..groups {
            for first in inputs.clone().step_by(2) {
                let mut sums = (ZERO, ZERO);
                for b in in_block.clone() {
                    let row0 = b * steps;
                    let within = block.start.max(row0) - row0..block.end.min(row0 + steps) - row0;
                    let fired = |i: usize| match i < inputs.end {
                        true => steps_within(samples[b].of(i), &within),
                        false => &[][..],
                    };
                    let term = |t: u16| &terms[(row0 + t as usize) * groups + g];
                    sums = two_sums(sums, fired(first), fired(first + 1), term);
                }
                for (i, sum) in [(first, sums.0), (first + 1, sums.1)] {
                    if i < inputs.end {
                        join(&mut total[(i - inputs.start) * groups + g], &sum, n == 0);
                    }
                }
            }
        }
    }
    total
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
