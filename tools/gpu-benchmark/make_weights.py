"""Writes model.safetensors with the fixture's exact names, shapes and dtypes (from its header) and random
weights: a step's time depends on shapes alone, and the real 90 MB file does not fit the device's transfer."""
import json, struct, sys
import numpy as np

header = json.load(open(sys.argv[1]))
rng = np.random.default_rng(0)
names = [n for n in header if n != "__metadata__"]
blobs, offset, out = [], 0, {}
for name in sorted(names, key=lambda n: header[n]["data_offsets"][0]):
    info = header[name]
    array = (rng.standard_normal(info["shape"]) * 0.02).astype(np.float32)
    if name.endswith("LayerNorm.weight"):
        array[...] = 1.0
    data = array.tobytes()
    out[name] = {"dtype": "F32", "shape": info["shape"], "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
if "__metadata__" in header:
    out["__metadata__"] = header["__metadata__"]
text = json.dumps(out).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for blob in blobs:
        f.write(blob)
