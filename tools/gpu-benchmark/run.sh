#!/bin/bash
# On a GPU machine with a CUDA PyTorch but no .NET: our benchmark (the kit from make-kit.sh: a self-contained publish
# without libtorch) on that PyTorch's own libtorch, against the same PyTorch. Run from the folder that holds the kit.
# Env: PY (python with torch; default python3), DEVICE (default cuda), TORCH_LIB (default: PY's torch/lib).
set -u
K=$(cd "$(dirname "$0")" && pwd); O=${OUT:-/tmp/gpu-out}; mkdir -p "$O"; W=/tmp/gpu-work; rm -rf $W; mkdir -p $W
exec > >(tee "$O/log.txt") 2>&1
PY=${PY:-python3}; DEVICE=${DEVICE:-cuda}
TORCH_LIB=${TORCH_LIB:-$($PY -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')}
date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tail -2; nproc
$PY -c 'import torch;print("python torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
$PY -c "import tarfile;tarfile.open('$K/bench.tar.xz').extractall('$W')"
F=$W/fx/minilm; mkdir -p $F; cp $K/fixture/* $F/ && rm $F/model.safetensors.header.json
cp -r $K/repo/tests $W/ && touch $W/FineTuneService.sln # the benchmark finds tests/fixtures above its binaries
$PY $K/make_weights.py $K/fixture/model.safetensors.header.json $F/model.safetensors && ls -la $F
export LD_LIBRARY_PATH=$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  FTS_MINILM=$F NUGET_PACKAGES=$K/nuget/ FTS_PEER_PYTHON=$(command -v $PY)
B=$W/bench/FineTuneService.Benchmarks
echo "== symbols of libLibTorchSharp.so left undefined against $TORCH_LIB:"
ldd -r $W/bench/libLibTorchSharp.so 2>&1 | grep -c "undefined symbol"
ldd -r $W/bench/libLibTorchSharp.so 2>&1 | grep "undefined symbol" | head -15 | c++filt
ldd $W/bench/libLibTorchSharp.so | grep -E "torch|c10"
# Peak device memory (MiB, whole GPU: ours and the peer) while a command runs.
gpumem() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > $O/gpumem.txt 2>/dev/null & local m=$!
  "$@"; local rc=$?; kill $m; echo "peak GPU memory: $(sort -n $O/gpumem.txt | tail -1) MiB"; return $rc; }
# The benchmark prints the fingerprint (GPU name, driver, memory via nvidia-smi), then the peer's checks on the GPU (its
# BLAS, a 1024³ product on the device against ours with TF32 equal, parity against the same model in float64 on the CPU),
# then each comparison with both sides' settings: the device their parameters were on and their precision (TF32 or not)
# must be equal, or the comparison is refused ("meets": false, "reason").
# --all-steps: fine-tune and MLM steps, float32 and bf16 (ours: bf16 working copy; PyTorch: autocast), MiniLM / small
# BERT and BERT-base's shape, ours against PyTorch eager, all in one call.
echo "== ours vs peer, train --device $DEVICE --all-steps"
time gpumem timeout ${TRAIN_TIMEOUT:-480} $B train --device $DEVICE --all-steps ${QUICK:+--quick} | tee $O/train.jsonl; echo "train rc=${PIPESTATUS[0]}"
echo "== refused comparisons (should be none):"; grep '"meets":false' $O/train.jsonl | grep '"reason"' || echo none
