//! The fused engine's matrix products: the two with the input spikes, the
//! input currents `h = x·W1` and the gradient `∂L/∂W1 = xᵀ·∂L/∂h`, from
//! lists of active inputs (`lists`), and the readout's small ones from
//! dense floats (`dense`), where the spikes of a set too wide for lists also
//! go.
//!
//! Float sums depend on their order, so every product here fixes one, and
//! none leaves it to libtorch: MKL's order depends on the thread count (with
//! two threads it splits a sum of 6,400 steps in two) and, on CPUs without
//! AVX-512, on how the rows fall between threads. Each output is summed
//! along the inner dimension by fused multiply-adds in blocks of 384 terms,
//! each block from zero, the block sums added in order, and a remainder of
//! 385 to 767 terms split into two halves (`blocks`). So the engine's
//! numbers do not depend on the thread count on any machine. The order is
//! MKL's own one-thread order on AVX-512 CPUs, where the two engines then
//! agree bit for bit (the spikes are 0 or 1, and `fma(1, w, acc)` is
//! `acc + w` rounded once): a coupling to libtorch 2.13 that
//! `super::libtorch` states and tests.

use std::ops::Range;

use anyhow::{bail, ensure, Result};
use tch::{Device, Kind, Tensor};

use super::workers::Workers;
use crate::host;
use crate::spikes::Spikes;

mod dense;
mod group;
mod lists;

/// What a product's left factor holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Left {
    /// Only 0s and 1s, so its zero terms are skipped. For a finite weight
    /// w, a fused multiply-add of 0·w changes a sum only where the sum is
    /// -0 (to +0), and a sum started from +0 that only ever adds whole
    /// weights never is -0. An infinite or NaN weight would make 0·w NaN
    /// where the skip leaves the sum as it was; weights stay finite unless
    /// training has already diverged.
    ZeroOne,
    Any,
}

/// Terms summed from zero before a block's sum joins the total.
const BLOCK: usize = 384;

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

/// The input currents `(batch, steps, hidden)` through `w1` `(inputs,
/// hidden)`.
pub(super) fn input_currents(spikes: &Spikes, w1: &Tensor, workers: &Workers) -> Result<Tensor> {
    let [batch, steps, inputs] = spikes.shape()?;
    let w1 = on_host(w1)?;
    let hidden = match w1.size()[..] {
        [rows, hidden] if rows as usize == inputs => hidden as usize,
        ref size => bail!("W1 of shape {size:?} does not take {inputs} inputs"),
    };
    let mut h = host::empty::<f32>(&[batch, steps, hidden])?;
    let out = host::slice_mut::<f32>(&mut h)?;
    let (w1, blocks) = (host::slice::<f32>(&w1)?, blocks(inputs));
    match spikes {
        Spikes::Active(active) => {
            let rows: Vec<&[u16]> = active.rows().collect();
            lists::input_currents(&rows, w1, hidden, &blocks, workers, out);
        }
        Spikes::Dense(x) => dense::times(
            host::slice(&on_host(x)?)?,
            Left::ZeroOne,
            w1,
            hidden,
            &blocks,
            workers,
            out,
        ),
    }
    Ok(h)
}

/// `∂L/∂W1` `(inputs, hidden)` from the batch's `∂L/∂h`, `(batch, steps,
/// hidden)` contiguous float32.
pub(super) fn w1_gradient(spikes: &Spikes, gh: &Tensor, workers: &Workers) -> Result<Tensor> {
    let [batch, steps, inputs] = spikes.shape()?;
    let hidden = *gh.size().last().unwrap_or(&0) as usize;
    ensure!(
        gh.size() == [batch, steps, hidden].map(|d| d as i64),
        "∂L/∂h of shape {:?} does not fit a batch of {batch} × {steps} steps",
        gh.size()
    );
    let by_input = match spikes {
        Spikes::Active(active) => active.steps_by_input(),
        Spikes::Dense(_) => None,
    };
    let mut grad = host::empty::<f32>(&[inputs, hidden])?;
    let (gh, blocks) = (host::slice::<f32>(gh)?, blocks(batch * steps));
    let out = host::slice_mut::<f32>(&mut grad)?;
    match by_input {
        Some(by_input) => lists::w1_gradient(&by_input, steps, gh, hidden, &blocks, workers, out),
        None => {
            let x = on_host(&spikes.dense()?)?;
            dense::summed_over_rows(host::slice(&x)?, gh, hidden, &blocks, workers, out)
        }
    }
    Ok(grad)
}

/// `x·w` for `x` `(…, k)` and `w` `(k, n)`: `(…, n)`.
pub(super) fn times(x: &Tensor, left: Left, w: &Tensor, workers: &Workers) -> Result<Tensor> {
    let (x, w) = (on_host(x)?, on_host(w)?);
    let mut shape = dims(&x);
    let (k, n) = match dims(&w)[..] {
        [k, n] if shape.last() == Some(&k) => (k, n),
        ref right => bail!("a product of {shape:?} and {right:?} does not fit"),
    };
    *shape.last_mut().unwrap_or(&mut 0) = n;
    let mut out = host::empty::<f32>(&shape)?;
    let (x, w) = (host::slice(&x)?, host::slice(&w)?);
    dense::times(
        x,
        left,
        w,
        n,
        &blocks(k),
        workers,
        host::slice_mut(&mut out)?,
    );
    Ok(out)
}

/// `Σ xᵀ·g` over the common leading dimensions of `x` `(…, a)` and `g`
/// `(…, b)`: `(a, b)`.
pub(super) fn summed_over_rows(x: &Tensor, g: &Tensor, workers: &Workers) -> Result<Tensor> {
    let (x, g) = (on_host(x)?, on_host(g)?);
    let (xs, gs) = (dims(&x), dims(&g));
    let (Some((&a, rows)), Some((&b, g_rows))) = (xs.split_last(), gs.split_last()) else {
        bail!("products need at least one dimension");
    };
    ensure!(rows == g_rows, "rows {rows:?} against {g_rows:?}");
    let mut out = host::empty::<f32>(&[a, b])?;
    let blocks = blocks(rows.iter().product());
    let (x, g) = (host::slice(&x)?, host::slice(&g)?);
    dense::summed_over_rows(x, g, b, &blocks, workers, host::slice_mut(&mut out)?);
    Ok(out)
}

fn dims(t: &Tensor) -> Vec<usize> {
    t.size().iter().map(|&d| d as usize).collect()
}

/// A contiguous CPU float32 copy, or the tensor itself where it is one.
fn on_host(t: &Tensor) -> Result<Tensor> {
    Ok(t.f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?)
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
