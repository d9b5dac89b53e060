//! Makes the `snnloc` binaries find libtorch at run time, and see CUDA.
//!
//! torch-sys links libtorch but leaves no run path in the binary, so without
//! this the program dies with "libtorch_cpu.so: cannot open shared object
//! file" unless LD_LIBRARY_PATH is set. torch-sys exports the lib dir to
//! dependants as DEP_TCH_LIBTORCH_LIB (its `links` key is `tch`).
//!
//! The linker's default `--as-needed` drops libtorch_cuda.so because no
//! symbol of ours refers to it; its static initialisers are what register the
//! CUDA backend, so without it `tch::Cuda::is_available()` is false even on a
//! GPU machine. So it is forced in wherever the lib dir has it: the CUDA
//! install of scripts/setup.sh, or a user's own CUDA libtorch. Loading it and
//! its CUDA libraries costs every run about 0.2 s of CPU and 270 to 400 MB
//! of memory, GPU or not;
//! the CPU-only install's lib dir has no libtorch_cuda.so (nor does a CPU
//! libtorch), so there the binary neither links nor loads anything of CUDA's
//! beyond the runtime and CUPTI that libtorch_cpu.so itself needs.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not export DEP_TCH_LIBTORCH_LIB; set LD_LIBRARY_PATH to libtorch/lib to run snnloc");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    if Path::new(&lib_dir).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
