"""The PyTorch peer's cls step (torch_bert.py, unchanged) on random batches of 16 x 128, fp32 and under bf16 autocast:
what bf16 would give, since TorchSharp 0.107 has no autocast. Usage: bf16_peer.py PEER_DIR MODEL_DIR DEVICE"""
import contextlib, json, os, random, sys, tempfile
import torch

peer_dir, model_dir, device = sys.argv[1:4]
sys.path.insert(0, peer_dir)
import torch_bert

vocab = json.load(open(os.path.join(model_dir, "config.json")))["vocab_size"]
rnd = random.Random(0)
batches = [{"input_ids": [[101] + [rnd.randrange(1000, vocab) for _ in range(126)] + [102] for _ in range(16)],
            "attention_mask": [[1] * 128 for _ in range(16)], "token_type_ids": [[0] * 128 for _ in range(16)],
            "labels": [k % 2 for k in range(16)]} for _ in range(8)]
path = os.path.join(tempfile.mkdtemp(), "batches.json")
json.dump({"num_labels": 2, "batches": batches}, open(path, "w"))
for dtype in ("fp32", "bf16"):
    sys.argv = ["torch_bert.py", "step", "--model-dir", model_dir, "--task", "cls", "--batches", path,
                "--warmup", os.environ.get("WARMUP", "5"), "--steps", os.environ.get("STEPS", "50"), "--threads", str(os.cpu_count()), "--device", device]
    cast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16) if dtype == "bf16" else contextlib.nullcontext()
    print(f"peer {dtype} (random batches 16x128): ", end="", flush=True)
    with cast:
        torch_bert.main()
