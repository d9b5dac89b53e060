#!/usr/bin/env bash
# Provides libtorch 2.13.0 (the version tch 0.26 is built against) from PyPI's
# torch==2.13.0 wheel, in a project-local virtual environment, and exposes it
# through the stable symlink `.libtorch` that `.cargo/config.toml` names.
#
#   scripts/setup.sh          the install this machine can use (see below)
#   scripts/setup.sh --cpu    force the CPU-only install
#   scripts/setup.sh --cuda   force the CUDA install
#
# Two kinds of install, from the same wheel (PyPI's Linux x86-64 torch is the
# CUDA 13 build; there is no CPU build there):
#
# - CUDA: torch with all its dependencies (about 2.8 GB downloaded, 4.6 GB on
#   disk). `.libtorch` is the torch package, so build.rs links
#   libtorch_cuda.so and `--device auto` picks a GPU when there is one.
# - CPU-only: torch without its CUDA packages (about 0.57 GB downloaded,
#   1.3 GB on disk). Only two CUDA libraries are real: libtorch_cpu.so itself
#   needs libcudart.so.13 and libcupti.so.13 (5 MB, from the cuda-toolkit
#   extras `cudart` and `cupti`). `.libtorch` is then a folder holding
#   torch's headers and only the libraries that libtorch_cpu.so loads, with
#   no libtorch_cuda.so, so the binary neither links nor loads CUDA.
#
# Python's `import torch` (scripts/reference.py, the cross-check tests) still
# loads libtorch_cuda.so on a CPU-only install: torch/_C's libtorch_python.so
# lists it, libc10_cuda.so, cuDNN, NCCL and cuFile as needed, and
# libtorch_cuda.so lists cuBLAS, cuFFT, cuSPARSE, ... : 1.8 GB more to
# download. None of their functions runs without a GPU: torch.cuda finds no
# device through the real libcudart, so no CUDA tensor, kernel or handle is
# ever made. The loader only needs each library to exist and define the
# symbols it binds at load time. So this script compiles one small stub
# library per missing name, from the wheel's own undefined symbols (with
# their symbol versions): every function prints which CUDA function was
# called and aborts, so nothing can silently compute with a stub (on a GPU
# machine forced to --cpu, Python code that asks for CUDA stops there). CPU
# arithmetic is libtorch_cpu.so's either way; no number changes.
#
# Without a flag: a machine whose NVIDIA driver loads (libcuda.so.1) gets the
# CUDA install, any other the CPU-only one; an existing install is kept as it
# is. A flag for the other kind switches the install in place (and says so),
# and cleans cargo's cached link settings, which depend on the kind.
# Idempotent: a second run with everything present only checks and exits.
# A user whose LIBTORCH already points at libtorch 2.13 can skip this script.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
link="$root/.libtorch"
marker="$venv/.snnloc-torch"
torch_version="2.13.0"
python="${PYTHON:-python3}"
pip_install=(-m pip install --quiet --disable-pip-version-check --no-compile --no-warn-conflicts)

want=""
case "$#:${1:-}" in
  0:) ;;
  1:--cpu) want=cpu ;;
  1:--cuda) want=cuda ;;
  1:-h | 1:--help)
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "setup: unknown arguments '$*'; use --cpu, --cuda or none" >&2
    exit 2
    ;;
esac

# The kind the existing install has: the marker's second word. An install
# made before there were two kinds has the old marker file and is CUDA.
have=""
if [ -x "$venv/bin/python" ]; then
  if [ -f "$marker" ]; then
    read -r have_version have <"$marker" || true
    [ "$have_version" = "$torch_version" ] || have=""
  elif [ -f "$venv/.snnloc-torch-$torch_version" ]; then
    have=cuda-legacy
  fi
fi
if [ -z "$want" ]; then
  case "$have" in
    cpu | cuda) want="$have" ;;
    *)
      # libcuda.so.1 is the driver's user-space half: without it libcudart
      # finds no GPU, so CUDA could not serve even with the kernel module.
      if "$python" -c 'import ctypes; ctypes.CDLL("libcuda.so.1")' 2>/dev/null; then
        want=cuda
      else
        want=cpu
      fi
      ;;
  esac
fi
# Nothing to do when the install is of the wanted kind and `.libtorch` leads
# into this venv (in a new worktree it may lead elsewhere).
if [ "$have" = "$want" ] && [ -f "$link/lib/libtorch_cpu.so" ]; then
  case "$(realpath "$link")" in "$(realpath "$venv")"/*) exit 0 ;; esac
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust with https://rustup.rs (curl --proto '=https' -sSf https://sh.rustup.rs | sh)" >&2
  exit 1
fi
if ! command -v "$python" >/dev/null; then
  echo "setup: $python not found; install Python 3.10+ or set PYTHON=/path/to/python3" >&2
  exit 1
fi
if [ "$want" = cpu ] && ! command -v cc >/dev/null; then
  echo "setup: cc not found; the CPU-only install compiles stub libraries with it (on Debian/Ubuntu: apt-get install gcc)" >&2
  exit 1
fi
kind_name() { if [ "$1" = cpu ]; then echo CPU-only; else echo CUDA; fi; }
case "${have%-legacy}" in
  "") echo "setup: installing torch==$torch_version, the $(kind_name "$want") kind, into $venv" >&2 ;;
  "$want") echo "setup: completing the $(kind_name "$want") install in $venv" >&2 ;;
  *) echo "setup: switching $venv from the $(kind_name "${have%-legacy}") install to the $(kind_name "$want") one" >&2 ;;
esac
rm -f "$marker" "$venv/.snnloc-torch-$torch_version"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || {
  echo "setup: could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
  exit 1
}
vpython="$venv/bin/python"
site="$("$vpython" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
torch_dir="$site/torch"
stub_list="$venv/.snnloc-cuda-stubs"
cpu_view="$venv/libtorch-cpu"

# Stubs and the CPU view belong to the CPU-only kind; remove them first so
# that a CUDA install never resolves a library to a stub.
if [ -f "$stub_list" ]; then
  xargs -r rm -f <"$stub_list"
  rm -f "$stub_list"
fi
rm -rf "$cpu_view"

if [ "$want" = cuda ]; then
  "$vpython" "${pip_install[@]}" "torch==$torch_version" numpy safetensors
  ln -sfn "$torch_dir" "$link"
else
  # torch itself, and beside it (the two touch disjoint packages, and side by
  # side they take 8 s less on a fresh machine) torch 2.13.0's own
  # requirements without its CUDA ones (cuda-toolkit's other extras,
  # cuda-bindings, nvidia-cudnn/cusparselt/nccl/nvshmem, triton);
  # cuda-toolkit pins the CUDA runtime and CUPTI versions to torch's. numpy
  # and safetensors are the Python reference's.
  "$vpython" "${pip_install[@]}" --no-deps "torch==$torch_version" &
  torch_pid=$!
  "$vpython" "${pip_install[@]}" "cuda-toolkit[cudart,cupti]==13.0.3" \
    filelock "typing-extensions>=4.10.0" "setuptools>=77.0.3" "sympy>=1.13.3" \
    "networkx>=2.5.1" jinja2 "fsspec>=0.8.5" numpy safetensors &
  requirements_pid=$!
  wait "$torch_pid" || { kill "$requirements_pid" 2>/dev/null; exit 1; }
  wait "$requirements_pid"
  # What an earlier CUDA install brought and the CPU-only kind does without.
  cuda_only="$("$vpython" -m pip list --disable-pip-version-check --format=freeze 2>/dev/null |
    sed 's/==.*//' | grep -Ei '^(nvidia-|cuda-bindings$|cuda-pathfinder$|triton$)' |
    grep -Eiv '^nvidia-cuda-(runtime|cupti)$' || true)"
  if [ -n "$cuda_only" ]; then
    # shellcheck disable=SC2086 # one package name per word
    "$vpython" -m pip uninstall --quiet --yes $cuda_only
  fi

  # The stubs go into nvidia/cu13/lib, the CUDA toolkit's folder, which the
  # RPATH of every torch library that needs them lists.
  stub_dir="$site/nvidia/cu13/lib"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  missing="$(cd "$work" && "$vpython" - "$torch_dir" <<'EOF'
# Writes stub.c (one aborting function per symbol that torch/_C's libraries
# import from a missing library) and stub.map (the symbol versions they ask
# for), and prints the missing library names.
import functools, glob, os, re, subprocess, sys

torch_dir = sys.argv[1]

def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

def closure(path):
    """The libraries path loads, and the names of those that are missing."""
    out = run("ldd", path)
    return re.findall(r"=> (/\S+)", out), sorted(set(re.findall(r"^\s*(\S+) => not found", out, re.M)))

@functools.cache
def symbols(path):
    """(binding, section, name, version) of each dynamic symbol."""
    table = []
    for line in run("readelf", "-W", "--dyn-syms", path).splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].rstrip(":").isdigit():
            name, _, version = f[7].partition("@")
            table.append((f[4], f[6], name, version.lstrip("@")))
    return table

def version_owners(path):
    """Each symbol version that path needs -> the library that must define it."""
    owner, owners = None, {}
    for line in run("readelf", "-W", "-V", path).splitlines():
        if m := re.search(r"File: (\S+)", line):
            owner = m.group(1)
        elif (m := re.search(r"Name: (\S+)", line)) and owner:
            owners[m.group(1)] = owner
    return owners

ext = glob.glob(os.path.join(torch_dir, "_C.*.so"))[0]
loaded, missing = closure(ext)
# Everything the process defines already: the loaded libraries, and Python
# itself, which provides the Py* API that libtorch_python.so imports.
python = os.path.realpath(sys.executable)
defined = set()
for lib in set(loaded) | set(closure(python)[0]) | {python}:
    defined |= {name for _, section, name, _ in symbols(lib) if section != "UND"}
versions, unversioned = {}, set()
lib_dir = os.path.realpath(os.path.join(torch_dir, "lib"))
for lib in [ext] + [p for p in loaded if os.path.realpath(p).startswith(lib_dir + os.sep)]:
    owners = version_owners(lib)
    for binding, section, name, version in symbols(lib):
        if section != "UND" or binding == "WEAK":
            continue
        if version:
            if owners.get(version) in missing:
                versions.setdefault(version, set()).add(name)
        elif name not in defined:
            unversioned.add(name)
with open("stub.c", "w") as f:
    f.write("#include <stdio.h>\n#include <stdlib.h>\n"
            "static void called(const char *name) {\n"
            '  fprintf(stderr, "%s was called, but this is the CPU-only install, whose CUDA libraries '
            'are stubs (scripts/setup.sh --cuda installs the real ones)\\n", name);\n'
            "  abort();\n}\n")
    for name in sorted(unversioned.union(*versions.values())):
        f.write(f'void {name}(void) {{ called("{name}"); }}\n')
with open("stub.map", "w") as f:
    for version, names in sorted(versions.items()):
        f.write(f"{version} {{ global: {' '.join(n + ';' for n in sorted(names))} }};\n")
print(" ".join(missing))
EOF
)"
  # Every stub defines all the symbols, each under its own file name and
  # soname, so no symbol has to be assigned to the library it came from.
  compilers=()
  for name in $missing; do
    cc -shared -fPIC -O1 -o "$stub_dir/$name" "$work/stub.c" \
      -Wl,-soname,"$name" -Wl,--version-script,"$work/stub.map" &
    compilers+=($!)
    echo "$stub_dir/$name" >>"$stub_list"
  done
  for pid in "${compilers[@]}"; do wait "$pid"; done

  # The libraries the binary loads, as symlinks: glibc takes $ORIGIN from
  # the path a library was found at, so libtorch_cpu.so's RPATH entry
  # $ORIGIN finds its neighbours here. libtorch.so is there because
  # torch-sys links -ltorch; it is an empty shim the linker drops.
  mkdir -p "$cpu_view/lib"
  ln -s "$torch_dir/include" "$cpu_view/include"
  for lib in "$torch_dir/lib/libtorch_cpu.so" "$torch_dir/lib/libtorch.so" \
    $(ldd "$torch_dir/lib/libtorch_cpu.so" | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p'); do
    case "$(realpath "$lib")" in
      "$(realpath "$venv")"/*) ln -s "$(realpath "$lib")" "$cpu_view/lib/$(basename "$lib")" ;;
    esac
  done
  ln -sfn "$cpu_view" "$link"
fi

# Nothing may be missing for the binary (libtorch_cpu.so) nor for Python.
for lib in "$link/lib/libtorch_cpu.so" "$torch_dir"/_C.*.so; do
  if ldd "$lib" | grep -q 'not found'; then
    echo "setup: $lib cannot load; missing: $(ldd "$lib" | sed -n 's/^\s*\(\S*\) => not found/\1/p' | sort -u | tr '\n' ' ')" >&2
    exit 1
  fi
done
"$vpython" -c 'import torch, numpy, safetensors' || {
  echo "setup: the venv's python cannot import torch, numpy and safetensors" >&2
  exit 1
}
# torch-sys and build.rs cache their link flags and run again only when an
# environment variable changes, not when `.libtorch` turns into the other
# kind; make them run again (`cargo clean -p` cleans one profile at a time).
if [ -d "$root/target" ]; then
  for profile in dev release; do
    (cd "$root" && cargo clean --quiet --profile "$profile" -p torch-sys -p snnloc)
  done
fi
echo "$torch_version $want" >"$marker"
echo "setup: libtorch $torch_version ($want) ready at $link"
