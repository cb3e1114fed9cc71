"""What the PyTorch peer runs on, and how fast it multiplies: the BLAS library that PyTorch's sgemm_ calls reach (then
OpenBLAS's own answers about its kernel and threading, as threadpoolctl asks them), and the
GFLOP/s of an N x N x N fp32 matrix product (the best of repeated products over about half a second).
Usage: probe.py --size N --threads T [--device cpu|cuda]. Prints one JSON object on stdout."""
import argparse
import ctypes
import json
import os
import re
import sys
import time

import torch


def loaded_libraries(words):
    paths = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith("/"):
                name = os.path.basename(fields[5])
                if any(w in name for w in words) and fields[5] not in paths:
                    paths.append(fields[5])
    return paths


class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p), ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def sgemm_library():
    """The library that libtorch's calls to sgemm_ reach: looked up from libtorch_cpu's handle (its own dependency
    order), then dladdr names the file. Another BLAS that is merely loaded as well does not count."""
    torch_cpu = next(iter(loaded_libraries(("libtorch_cpu",))), None)
    if torch_cpu is None:
        return None
    try:
        address = ctypes.cast(ctypes.CDLL(torch_cpu).sgemm_, ctypes.c_void_p)
    except AttributeError:
        return None
    info = DlInfo()
    libc = ctypes.CDLL(None)
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    return os.path.realpath(info.dli_fname.decode()) if libc.dladdr(address, ctypes.byref(info)) else None


def openblas(path):
    """OpenBLAS's answers (None for a BLAS that is not OpenBLAS): parallel 0 = sequential, 1 = pthreads, 2 = OpenMP."""
    lib = ctypes.CDLL(path)
    if not hasattr(lib, "openblas_get_corename"):
        return None
    for name in ("openblas_get_config", "openblas_get_corename"):
        getattr(lib, name).restype = ctypes.c_char_p
    return {
        "config": lib.openblas_get_config().decode(),
        "corename": lib.openblas_get_corename().decode(),
        "parallel": {0: "sequential", 1: "pthreads", 2: "openmp"}.get(lib.openblas_get_parallel(), "unknown"),
        "threads": lib.openblas_get_num_threads(),
    }


def gflops(n, device, seconds=0.5):
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(2):
        torch.mm(a, b)
    sync()
    best, spent, reps = 0.0, 0.0, 0
    while spent < seconds or reps < 3:
        start = time.perf_counter()
        torch.mm(a, b)
        sync()
        elapsed = time.perf_counter() - start
        best, spent, reps = max(best, 2.0 * n ** 3 / elapsed / 1e9), spent + elapsed, reps + 1
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rate = gflops(args.size, args.device)  # first, so that a lazily loaded BLAS is in the maps below
    blas = sgemm_library()
    result = {
        "torch": torch.__version__,
        "blas_library": blas,
        "loaded_blas_libraries": [os.path.realpath(p) for p in loaded_libraries(("blas", "mkl"))],
        "openblas": openblas(blas) if blas else None,
        "blas_info": next(iter(re.findall(r"BLAS_INFO=(\w+)", torch.__config__.show())), None),
        "torch_threads": torch.get_num_threads(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "device": args.device,
        "gemm_size": args.size,
        "gemm_gflops": rate,
    }
    if args.device.startswith("cuda"):
        result["device_name"] = torch.cuda.get_device_name(torch.device(args.device))
        result["allow_tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        result["allow_tf32_cudnn"] = torch.backends.cudnn.allow_tf32
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
