//! What the fused engine assumes of the libtorch it runs in, stated once.
//! tch 0.26 pins libtorch 2.13.0 at build time; these two couplings are not
//! visible to the compiler, so each has a test named after it that fails
//! by name, rather than with quietly different numbers, when an upgrade
//! breaks it:
//!
//! 1. **MKL's summation order.** `products` sums every product in the
//!    order measured for MKL's one-thread sgemm in libtorch 2.13 on
//!    AVX-512 x86 (`products::blocks`: blocks of 384 terms). On such CPUs
//!    the fused engine's forward pass therefore equals the reference
//!    engine's bit for bit; it never depends on the order for its own
//!    determinism, only for that equality. Test: `products_sum_in_mkls_one_thread_sgemm_order`, which
//!    compares both on AVX-512 CPUs and says that it skipped elsewhere.
//! 2. **libtorch's OpenMP team.** `workers` runs its parts on the team
//!    that libtorch's own parallel ops use, through `GOMP_parallel` found
//!    by `dlsym` in the libgomp that libtorch loaded. Without it the parts
//!    run one after another: the same numbers, one core. Test:
//!    `libtorch_brings_the_openmp_team_the_workers_run_on`.

use std::ffi::c_void;
use std::sync::OnceLock;

/// libgomp's `GOMP_parallel(fn, data, num_threads, flags)`: runs `fn(data)`
/// on each thread of a team of `num_threads`, the caller among them, and
/// returns when all have.
pub(super) type Parallel = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, u32, u32);

/// libtorch's OpenMP entry point, if the process has one.
pub(super) fn omp_parallel() -> Option<Parallel> {
    static FOUND: OnceLock<Option<Parallel>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: dlsym only looks the name up among the loaded libraries.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"GOMP_parallel".as_ptr()) };
        // SAFETY: where libgomp defines the name, it is this function (the
        // GNU OpenMP ABI, stable since GCC 4.9).
        (!symbol.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, Parallel>(symbol) })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use tch::{Kind, Tensor};

    use super::super::products::{summed_over_rows, times, Left};
    use super::super::workers::Workers;
    use super::omp_parallel;

    #[test]
    fn libtorch_brings_the_openmp_team_the_workers_run_on() {
        // Loading libtorch (any call) loads its libgomp.
        let _ = tch::get_num_threads();
        assert!(
            omp_parallel().is_some(),
            "libtorch no longer loads libgomp's GOMP_parallel: the fused engine would run on one core"
        );
        let threads = Mutex::new(HashSet::new());
        Workers::with_threads(2).each(0..2, |_| {
            // Long enough that one thread cannot take both parts.
            std::thread::sleep(std::time::Duration::from_millis(50));
            threads.lock().unwrap().insert(std::thread::current().id());
        });
        assert_eq!(
            threads.into_inner().unwrap().len(),
            2,
            "the team ran the parts on one thread"
        );
    }

    #[test]
    fn products_sum_in_mkls_one_thread_sgemm_order() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: MKL's order was measured on AVX-512 CPUs, and this one has none");
            return;
        }
        tch::manual_seed(7);
        let workers = Workers::with_threads(1);
        let previous = tch::get_num_threads();
        tch::set_num_threads(1);
        // Inner lengths on each side of the block edges, and the engine's
        // own: 200 inputs, 6,400 rows (64 samples × 100 steps).
        for k in [200, 384, 385, 767, 768, 769, 6400] {
            let x = Tensor::randn([7, k], (Kind::Float, tch::Device::Cpu));
            let w = Tensor::randn([k, 5], (Kind::Float, tch::Device::Cpu));
            let ours = times(&x, Left::Any, &w, &workers).unwrap();
            assert!(
                ours.equal(&x.matmul(&w)),
                "x·w with {k} terms: not MKL's order"
            );
            let g = Tensor::randn([k, 3], (Kind::Float, tch::Device::Cpu));
            let ours = summed_over_rows(&x.tr().contiguous(), &g, &workers).unwrap();
            assert!(
                ours.equal(&x.matmul(&g)),
                "xᵀ·g over {k} rows: not MKL's order"
            );
        }
        tch::set_num_threads(previous);
    }
}
