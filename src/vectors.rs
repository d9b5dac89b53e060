//! Hot loops compiled for the vector unit of the CPU they run on: the
//! release build targets baseline x86-64 (4-wide SSE2, no fused
//! multiply-add), which would leave most of a modern core unused.

/// Defines `$name`, which runs `$kernel` (an ordinary `#[inline(always)]`
/// function, so that rustfmt and the reader see it as any other) compiled
/// for the widest vector unit the CPU has, picking that copy at run time. Float adds and fused multiply-adds work lane by lane, and
/// `mul_add` without the instruction calls libm's correctly rounded `fmaf`,
/// so every copy gives the same bits.
macro_rules! widest_vectors {
    ($(#[$attr:meta])* fn $name:ident = $kernel:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;) => {
        $(#[$attr])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { $kernel($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { $kernel($($arg),*) }
                // SAFETY: each copy runs only where the CPU has its features.
                if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") {
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}
