//! CPU tensors' memory as Rust slices, so that hand-written loops read
//! libtorch's results and write its inputs in place. Going through a `Vec`
//! costs a copy out, and `Tensor::from_slice` a zero fill and a copy back
//! in: for the fused engine, several passes over 0.8 MB arrays per batch.

use anyhow::{ensure, Result};
use tch::kind::Element;
use tch::{Device, Tensor};

/// A contiguous CPU tensor of `T`s whose contents are not yet written.
pub fn empty<T: Element>(shape: &[usize]) -> Result<Tensor> {
    let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Ok(Tensor::f_empty(shape, (T::KIND, Device::Cpu))?)
}

/// The elements of a contiguous CPU tensor of `T`s, in memory order.
pub fn slice<T: Element>(t: &Tensor) -> Result<&[T]> {
    let len = check::<T>(t)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: `check` found `len` contiguous elements of type `T` in CPU
    // memory that the tensor owns; the slice borrows the tensor, so the
    // storage outlives it. Other handles to the same storage could write to
    // it, but this crate only reads tensors that its own code made.
    Ok(unsafe { std::slice::from_raw_parts(t.data_ptr() as *const T, len) })
}

/// The elements of a contiguous CPU tensor of `T`s, for writing.
pub fn slice_mut<T: Element>(t: &mut Tensor) -> Result<&mut [T]> {
    let len = check::<T>(t)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `slice`; the tensor is borrowed mutably for the
    // slice's lifetime, so nothing else reads or frees the memory meanwhile.
    Ok(unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, len) })
}

/// Any tensor's elements, detached, on the CPU, as `T`s in memory order.
pub fn to_vec<T: Element>(t: &Tensor) -> Result<Vec<T>> {
    let t = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(T::KIND)?
        .f_contiguous()?;
    let mut flat = vec![T::ZERO; t.numel()];
    t.f_copy_data(&mut flat, t.numel())?;
    Ok(flat)
}

/// A `(n, k)` tensor as n rows.
pub fn rows<T: Element>(t: &Tensor) -> Result<Vec<Vec<T>>> {
    let cols = t.size()[1] as usize;
    let flat = to_vec::<T>(t)?;
    Ok(flat.chunks(cols.max(1)).map(<[T]>::to_vec).collect())
}

fn check<T: Element>(t: &Tensor) -> Result<usize> {
    ensure!(
        t.f_kind()? == T::KIND && t.device() == Device::Cpu && t.is_contiguous(),
        "expected a contiguous {:?} CPU tensor, got {:?} on {:?}",
        T::KIND,
        t.f_kind()?,
        t.device()
    );
    Ok(t.numel())
}

#[cfg(test)]
mod tests {
    use tch::Kind;

    use super::*;
    use crate::host;

    fn to_vec(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
    }

    #[test]
    fn host_slices_see_tensor_memory_and_refuse_other_layouts() {
        let mut t = host::empty::<f32>(&[2, 3]).unwrap();
        host::slice_mut::<f32>(&mut t)
            .unwrap()
            .iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as f32);
        assert_eq!(to_vec(&t), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let transposed = host::slice::<f32>(&t.tr()).unwrap_err();
        assert!(
            transposed.to_string().contains("contiguous"),
            "{transposed}"
        );
        assert!(host::slice::<f64>(&t).is_err());
        assert!(host::slice::<f32>(&host::empty::<f32>(&[0]).unwrap())
            .unwrap()
            .is_empty());
    }
}
