"""The PyTorch peer of the benchmark: the same BERT as Hugging Face's modeling_bert.py, in plain torch.

Debian's python3-torch (1.13) has no transformers library, so the model is written here and loads the
fixture's model.safetensors by parsing the safetensors header with numpy. Modes:
  step  --model-dir D | --config JSON --task cls|mlm --batches FILE --warmup W --steps N --threads T [--device cpu|cuda]
        identical batches (written by the .NET harness), AdamW, clip 1.0: samples/s and peak RSS;
        --precision bf16 runs forward and loss under torch.autocast(bfloat16) (Hugging Face's bf16=True).
  epoch --model-dir D --data FILE --batch-size B --threads T
        one fine-tuning epoch with Hugging Face Trainer defaults: shuffled random batches, each padded to
        its longest sequence (DataCollatorWithPadding), AdamW lr 5e-5 linear decay, clip 1.0.
  finetune --model-dir D --data FILE --test FILE --epochs E --lr LR --weight-decay WD --batch-size B --seed S
        the quality comparison's peer: Hugging Face Trainer's loop for E epochs (as epoch mode, each epoch
        reshuffled), then accuracy on the test rows; --head-init hf (N(0, initializer_range), bias 0, as
        Hugging Face initialises a new classifier) or torch (nn.Linear's default).
  parity --model-dir D [--reference FILE] [--device cpu|cuda]
        the encoder's last_hidden_state and pooler_output on the inputs of FILE ({"cases": [{input_ids, token_type_ids,
        last_hidden_state, pooler_output}]}: ONNX Runtime's outputs of the original export) against that reference;
        without it (random weights), on 14 seeded random sequences against the same model on the CPU in float64.
        Reports the largest absolute difference.
Prints one JSON object on stdout.
"""
import argparse
import contextlib
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def load_safetensors(path):
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: only F32 is supported, got {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=np.float32).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, mask_bias):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)  # (B, heads, T, head_dim)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + mask_bias
        context = self.dropout(scores.softmax(-1)) @ v
        return context.transpose(1, 2).reshape(b, t, h)


class DenseNorm(nn.Module):
    """BertSelfOutput / BertOutput: dense, dropout, residual, LayerNorm."""

    def __init__(self, c, inp):
        super().__init__()
        self.dense = nn.Linear(inp, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        setattr(self, "self", SelfAttention(c))
        self.output = DenseNorm(c, c["hidden_size"])

    def forward(self, x, mask_bias):
        return self.output(getattr(self, "self")(x, mask_bias), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c, c["intermediate_size"])

    def forward(self, x, mask_bias):
        a = self.attention(x, mask_bias)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, x, mask_bias):
        for layer in self.layer:
            x = layer(x, mask_bias)
        return x


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        mask_bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(input_ids, token_type_ids), mask_bias)


class ForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.bert = Bert(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        pooled = self.bert.pooler(self.bert(input_ids, attention_mask, token_type_ids))
        logits = self.classifier(self.dropout(pooled))
        return nn.functional.cross_entropy(logits, labels)


class PredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(nn.functional.gelu(self.dense(x)))


class ForMaskedLM(nn.Module):
    """BertForMaskedLM as Hugging Face runs it: logits over the vocabulary at every position (decoder tied to
    the word embeddings), cross-entropy ignoring labels of -100."""

    def __init__(self, c):
        super().__init__()
        self.bert = Bert(c)
        self.transform = PredictionHeadTransform(c)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.transform(hidden) @ self.bert.embeddings.word_embeddings.weight.t() + self.bias
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)


def build_model(args, num_labels):
    if args.model_dir:
        with open(os.path.join(args.model_dir, "config.json")) as f:
            config = json.load(f)
    else:
        config = json.loads(args.config)
    torch.manual_seed(args.seed)
    model = ForMaskedLM(config) if args.task == "mlm" else ForSequenceClassification(config, num_labels)
    if args.model_dir:
        missing, unexpected = model.bert.load_state_dict(load_safetensors(os.path.join(args.model_dir, "model.safetensors")), strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise ValueError(f"checkpoint mismatch: missing {missing}, unexpected {unexpected}")
    return model


def adamw(model, lr, weight_decay):
    """Hugging Face grouping: no decay on biases and LayerNorm weights."""
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def train_step(model, optimizer, batch, cast=None):
    with cast or contextlib.nullcontext():
        loss = model(*batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def precision(device, compute="fp32"):
    """As the .NET side names it: fp32 or bf16, with TF32 matrix products where CUDA allows them."""
    return compute + " (tf32 matmul)" if device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32 else compute


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_steps(args):
    with open(args.batches) as f:
        raw = json.load(f)
    batches = [tuple(torch.tensor(b[k]) for k in ("input_ids", "attention_mask", "token_type_ids", "labels")) for b in raw["batches"]]
    device = torch.device(args.device)
    model = build_model(args, raw.get("num_labels", 2)).to(device)
    model.train()
    optimizer = adamw(model, 5e-5, 0.01)
    # Each batch goes to the device in its step, as a data loader's would (and as ours does).
    on_device = lambda batch: tuple(t.to(device) for t in batch)
    # The steps run under autocast, as Hugging Face's Trainer runs them with bf16=True (its backward runs outside).
    cast = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if args.precision == "bf16" else contextlib.nullcontext()
    step = lambda batch: train_step(model, optimizer, on_device(batch), cast)
    for i in range(args.warmup):
        step(batches[i % len(batches)])
    losses = []
    start = time.perf_counter()
    for i in range(args.steps):
        losses.append(step(batches[(args.warmup + i) % len(batches)]))
    elapsed = time.perf_counter() - start
    samples = sum(batches[(args.warmup + i) % len(batches)][0].shape[0] for i in range(args.steps))
    return {"samples_per_second": samples / elapsed, "peak_rss_mb": peak_rss_mb(), "losses": losses,
            "device": str(next(model.parameters()).device), "batch": batches[0][0].shape[0], "precision": precision(device, args.precision)}


def padded(chunk):
    """Rows of input_ids and label as one batch, padded to its longest row (DataCollatorWithPadding)."""
    longest = max(len(r["input_ids"]) for r in chunk)
    ids = torch.zeros(len(chunk), longest, dtype=torch.long)
    mask = torch.zeros(len(chunk), longest, dtype=torch.long)
    for j, r in enumerate(chunk):
        ids[j, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
        mask[j, :len(r["input_ids"])] = 1
    return ids, mask, torch.zeros_like(ids), torch.tensor([r["label"] for r in chunk])


def read_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_finetune(args):
    rows, test = read_rows(args.data), read_rows(args.test)
    model = build_model(args, max(r["label"] for r in rows) + 1)
    if args.head_init == "hf":
        with torch.no_grad():
            model.classifier.weight.normal_(0.0, json.load(open(os.path.join(args.model_dir, "config.json"))).get("initializer_range", 0.02))
            model.classifier.bias.zero_()
    model.train()
    optimizer = adamw(model, args.lr, args.weight_decay)
    per_epoch = math.ceil(len(rows) / args.batch_size)
    total = per_epoch * args.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (total - s) / total))
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    losses = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        for s in range(per_epoch):
            losses.append(train_step(model, optimizer, padded([rows[i] for i in order[s * args.batch_size:(s + 1) * args.batch_size]])))
            scheduler.step()
    train_seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(test), 64):
            ids, mask, types, labels = padded(test[s:s + 64])
            pooled = model.bert.pooler(model.bert(ids, mask, types))
            correct += int((model.classifier(pooled).argmax(-1) == labels).sum())
    return {"accuracy": correct / len(test), "train_seconds": train_seconds, "steps": total,
            "first_loss": losses[0], "last_loss": losses[-1]}


def run_epoch(args):
    with open(args.data) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    num_labels = max(r["label"] for r in rows) + 1
    model = build_model(args, num_labels)
    model.train()
    optimizer = adamw(model, 5e-5, 0.0)
    steps = math.ceil(len(rows) / args.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    generator = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(rows), generator=generator).tolist()
    start = time.perf_counter()
    tokens = 0
    for s in range(steps):
        batch = padded([rows[i] for i in order[s * args.batch_size:(s + 1) * args.batch_size]])
        tokens += int(batch[1].sum())
        train_step(model, optimizer, batch)
        scheduler.step()
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "samples_per_second": len(rows) / elapsed, "tokens_per_second": tokens / elapsed,
            "peak_rss_mb": peak_rss_mb(), "device": str(next(model.parameters()).device), "batch": args.batch_size,
            "precision": precision(torch.device("cpu"))}


def run_parity(args):
    args.task = "cls"
    device = torch.device(args.device)
    model = build_model(args, 2).bert.eval().to(device)
    if args.reference:
        with open(args.reference) as f:
            cases = json.load(f)["cases"]
        against = "ONNX Runtime on the original export"
    else:
        generator = torch.Generator().manual_seed(0)
        vocab = model.embeddings.word_embeddings.num_embeddings
        cases = [{"input_ids": [101] + torch.randint(1000, vocab, (n,), generator=generator).tolist() + [102], "token_type_ids": None}
                 for n in range(4, 60, 4)]
        against = "the same model on the CPU in float64"
        cpu64 = build_model(args, 2).bert.eval().double()

    def encode(bert, ids, types, on):
        t = lambda v: torch.tensor([v], device=on)
        hidden = bert(t(ids), torch.ones(1, len(ids), dtype=torch.long, device=on), t(types))
        return hidden[0].flatten().double().cpu(), bert.pooler(hidden)[0].double().cpu()

    worst = 0.0
    with torch.no_grad():
        for c in cases:
            ids, types = c["input_ids"], c["token_type_ids"] or [0] * len(c["input_ids"])
            hidden, pooled = encode(model, ids, types, device)
            if "last_hidden_state" in c:
                want_hidden, want_pooled = torch.tensor(c["last_hidden_state"]).double(), torch.tensor(c["pooler_output"]).double()
            else:
                want_hidden, want_pooled = encode(cpu64, ids, types, torch.device("cpu"))
            worst = max(worst, (hidden - want_hidden).abs().max().item(), (pooled - want_pooled).abs().max().item())
    return {"cases": len(cases), "against": against, "max_abs_diff": worst}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["step", "epoch", "parity", "finetune"])
    p.add_argument("--model-dir")
    p.add_argument("--config", help="config.json content for a randomly initialised model")
    p.add_argument("--task", choices=["cls", "mlm"], default="cls")
    p.add_argument("--batches")
    p.add_argument("--data")
    p.add_argument("--test")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--head-init", choices=["hf", "torch"], default="hf")
    p.add_argument("--reference", help="parity mode: the reference outputs")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--device", default="cpu", help="step mode: where the model and batches live (each step ends in loss.item(), a sync)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = {"step": run_steps, "epoch": run_epoch, "parity": run_parity, "finetune": run_finetune}[args.mode](args)
    result.setdefault("device", args.device)
    result.update({"threads": args.threads, "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""), "torch": torch.__version__})
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
