#!/usr/bin/python3
"""Step 2 of the brown-lm recipe: train a small decoder-only LM on the Brown corpus and export it
for transformers.js (ONNX with a KV cache, logits over Qwen3's full 151,936-entry vocabulary).

  npx tsx models/brown-lm/prepare.ts            # tokenise Brown → models/brown-lm/data/
  /usr/bin/python3 models/brown-lm/train.py     # train (seeded), evaluate, export → models/brown-lm/

Debian's python3-torch 1.13 and python3-onnx (apt); use /usr/bin/python3, not a pyenv python.

Design: a Llama-style block stack (RMSNorm, rotary positions, SwiGLU) over a *compact* vocabulary:
the 34k Qwen3 ids that occur in Brown. Input ids are mapped full → compact by a constant table
and output logits compact → full, every id Brown never uses getting −inf, so the graph speaks the
tokenizer's ids while the embedding stays small. The embedding is factorised (V×E then E→d) and
tied with the output head, which keeps the weights under 40 MB.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# glibc hands large blocks back to the kernel on free, so every step page-faults its ~0.5 GB
# logits tensors in again (seconds per step on this VM); keep freed memory in the heap instead.
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '4000000000', 'MALLOC_TRIM_THRESHOLD_': '40000000000',
              'MALLOC_TOP_PAD_': '1000000000'}
if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})
FULL_VOCAB = 151936  # Qwen3 logits size (151,669 tokens padded)


class Config:
    def __init__(self, **kw):
        self.d_model = 256
        self.n_layers = 4
        self.n_heads = 4
        self.d_ff = 640
        self.d_embed = 96
        self.max_len = 512
        self.rope_theta = 10000.0
        self.__dict__.update(kw)

    @property
    def head_dim(self):
        return self.d_model // self.n_heads


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary(x, cos, sin):
    # x: [B, H, T, Dh]; rotate-half convention (as Llama in transformers)
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.norm1 = RMSNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model, bias=False)
        self.out = nn.Linear(c.d_model, c.d_model, bias=False)
        self.norm2 = RMSNorm(c.d_model)
        self.gate_up = nn.Linear(c.d_model, 2 * c.d_ff, bias=False)
        self.down = nn.Linear(c.d_ff, c.d_model, bias=False)

    def forward(self, x, cos, sin, mask, past_k=None, past_v=None):
        B, T, _ = x.shape
        H, Dh = self.c.n_heads, self.c.head_dim
        q, k, v = self.qkv(self.norm1(x)).split(self.c.d_model, dim=-1)
        q = rotary(q.view(B, T, H, Dh).transpose(1, 2), cos, sin)
        k = rotary(k.view(B, T, H, Dh).transpose(1, 2), cos, sin)
        v = v.view(B, T, H, Dh).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(Dh)) + mask
        y = F.softmax(att, dim=-1) @ v
        x = x + self.out(y.transpose(1, 2).reshape(B, T, self.c.d_model))
        g, u = self.gate_up(self.norm2(x)).split(self.c.d_ff, dim=-1)
        x = x + self.down(F.silu(g) * u)
        return x, k, v


class BrownLM(nn.Module):
    def __init__(self, c, vocab):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(vocab, c.d_embed)
        self.up = nn.Linear(c.d_embed, c.d_model, bias=False)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = RMSNorm(c.d_model)
        self.down = nn.Linear(c.d_model, c.d_embed, bias=False)
        inv = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2).float() / c.head_dim))
        self.register_buffer('inv_freq', inv, persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def rope(self, positions):
        # positions: [B, T] → cos/sin [B, 1, T, Dh]
        f = positions.float().unsqueeze(-1) * self.inv_freq
        emb = torch.cat([f, f], dim=-1).unsqueeze(1)
        return emb.cos(), emb.sin()

    def forward(self, ids, positions, mask, past=None):
        x = self.up(self.embed(ids))
        cos, sin = self.rope(positions)
        presents = []
        for i, block in enumerate(self.blocks):
            pk, pv = (past[2 * i], past[2 * i + 1]) if past is not None else (None, None)
            x, k, v = block(x, cos, sin, mask, pk, pv)
            presents += [k, v]
        logits = self.down(self.norm(x)) @ self.embed.weight.t()
        return logits, presents


def causal_mask(T, device=None):
    return torch.full((T, T), float('-inf'), device=device).triu(1)


class OnnxWrapper(nn.Module):
    """The graph transformers.js runs: full-vocabulary ids in, full-vocabulary logits out."""

    def __init__(self, model, used_ids):
        super().__init__()
        self.model = model
        to_compact = torch.full((FULL_VOCAB,), len(used_ids), dtype=torch.int64)
        to_compact[torch.tensor(used_ids, dtype=torch.int64)] = torch.arange(len(used_ids))
        # ids Brown never used map onto the extra row / column: a zero embedding in, −inf out
        self.register_buffer('to_compact', to_compact)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        m = self.model
        c = m.c
        V = m.embed.weight.shape[0]
        compact = self.to_compact[input_ids]
        safe = torch.clamp(compact, max=V - 1)
        x = m.up(m.embed(safe) * (compact < V).unsqueeze(-1).float())
        cos, sin = m.rope(position_ids)
        T = input_ids.shape[1]
        total = attention_mask.shape[1]
        past_len = total - T
        # query t sits at absolute slot past_len + t; it sees slots ≤ that which the mask keeps
        q_slot = torch.arange(T).unsqueeze(1) + past_len
        k_slot = torch.arange(total).unsqueeze(0)
        allowed = (k_slot <= q_slot).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)
        mask = torch.where(allowed, torch.zeros(()), torch.full((), float('-inf'))).unsqueeze(1)
        presents = []
        for i, block in enumerate(m.blocks):
            x, k, v = block(x, cos, sin, mask, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        logits = m.down(m.norm(x)) @ m.embed.weight.t()
        neg = torch.full(logits.shape[:-1] + (1,), float('-inf'))
        full = torch.cat([logits, neg], dim=-1)[..., self.to_compact]
        return (full, *presents)


def batches(data, seq, batch, rng):
    n = len(data) - seq - 1
    while True:
        starts = rng.integers(0, n, size=batch)
        x = np.stack([data[s:s + seq] for s in starts])
        y = np.stack([data[s + 1:s + seq + 1] for s in starts])
        yield torch.from_numpy(x).long(), torch.from_numpy(y).long()


@torch.no_grad()
def evaluate(model, data, seq):
    """Perplexity over non-overlapping windows of the held-out documents."""
    model.eval()
    total, count = 0.0, 0
    mask = causal_mask(seq)
    pos = torch.arange(seq).unsqueeze(0)
    for s in range(0, len(data) - seq - 1, seq):
        x = torch.from_numpy(data[s:s + seq]).long().unsqueeze(0)
        y = torch.from_numpy(data[s + 1:s + seq + 1]).long().unsqueeze(0)
        logits, _ = model(x, pos, mask)
        total += F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction='sum').item()
        count += y.numel()
    model.train()
    return math.exp(total / count)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(HERE, 'data'))
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--steps', type=int, default=900)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--tiny', action='store_true', help='a 1-layer model for fast fixtures')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    meta = json.load(open(os.path.join(args.data, 'meta.json')))
    used = np.fromfile(os.path.join(args.data, 'used-ids.bin'), dtype=np.int32)
    lookup = np.full(FULL_VOCAB, -1, dtype=np.int64)
    lookup[used] = np.arange(len(used))
    train = lookup[np.fromfile(os.path.join(args.data, 'train.bin'), dtype=np.int32)]
    held = lookup[np.fromfile(os.path.join(args.data, 'heldout.bin'), dtype=np.int32)]
    assert (train >= 0).all() and (held >= 0).all()

    c = Config(n_layers=1, d_model=64, n_heads=2, d_ff=128, d_embed=32) if args.tiny else Config()
    model = BrownLM(c, len(used))
    n_params = sum(p.numel() for p in model.parameters())
    print(f'brown-lm: {n_params:,} parameters, {len(used)} compact ids, {len(train):,} training tokens',
          flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    mask = causal_mask(args.seq)
    pos = torch.arange(args.seq).unsqueeze(0)
    t0 = time.time()
    it = batches(train, args.seq, args.batch, rng)
    for step in range(1, args.steps + 1):
        x, y = next(it)
        logits, _ = model(x, pos, mask)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == args.steps:
            el = time.time() - t0
            print(f'step {step}/{args.steps} loss {loss.item():.3f} '
                  f'{step * args.batch * args.seq / el:.0f} tok/s, {el / 60:.1f} min, '
                  f'eta {(args.steps - step) * el / step / 60:.1f} min', flush=True)
    train_minutes = (time.time() - t0) / 60
    ppl = evaluate(model, held, args.seq)
    print(f'held-out perplexity {ppl:.1f} ({len(held):,} tokens, {len(meta["heldOutDocs"])} documents)', flush=True)
    export(model, c, used, args, meta, n_params, ppl, train_minutes, len(train))


def export(model, c, used, args, meta, n_params, ppl, train_minutes, n_train):
    import onnx

    model.eval()
    os.makedirs(os.path.join(args.out, 'onnx'), exist_ok=True)
    wrapper = OnnxWrapper(model, used.tolist()).eval()
    B, T, P = 1, 3, 2
    past = []
    names_in, names_out, axes = ['input_ids', 'attention_mask', 'position_ids'], ['logits'], {
        'input_ids': {0: 'batch_size', 1: 'sequence_length'},
        'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
        'position_ids': {0: 'batch_size', 1: 'sequence_length'},
        'logits': {0: 'batch_size', 1: 'sequence_length'},
    }
    for i in range(c.n_layers):
        for kind in ('key', 'value'):
            past.append(torch.randn(B, c.n_heads, P, c.head_dim))
            names_in.append(f'past_key_values.{i}.{kind}')
            names_out.append(f'present.{i}.{kind}')
            axes[f'past_key_values.{i}.{kind}'] = {0: 'batch_size', 2: 'past_sequence_length'}
            axes[f'present.{i}.{kind}'] = {0: 'batch_size', 2: 'total_sequence_length'}
    ids = torch.tensor([[int(used[5]), int(used[7]), 12345678 % FULL_VOCAB]])
    am = torch.ones(B, P + T, dtype=torch.int64)
    pos_ids = torch.arange(P, P + T).unsqueeze(0)
    path = os.path.join(args.out, 'onnx', 'model.onnx')
    torch.onnx.export(wrapper, (ids, am, pos_ids, *past), path, input_names=names_in, output_names=names_out,
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))

    # KV-cache check in torch: prefill + one cached step equals a full pass
    with torch.no_grad():
        seq = torch.tensor([[int(u) for u in used[100:106]]])
        empty = [torch.zeros(1, c.n_heads, 0, c.head_dim) for _ in range(2 * c.n_layers)]
        full = wrapper(seq, torch.ones(1, 6, dtype=torch.int64), torch.arange(6).unsqueeze(0), *empty)[0]
        pre = wrapper(seq[:, :5], torch.ones(1, 5, dtype=torch.int64), torch.arange(5).unsqueeze(0), *empty)
        step = wrapper(seq[:, 5:], torch.ones(1, 6, dtype=torch.int64), torch.tensor([[5]]), *pre[1:])[0]
        finite = torch.isfinite(full[0, 5])
        diff = (full[0, 5][finite] - step[0, 0][finite]).abs().max().item()
        print(f'kv-cache check: max |full − cached| = {diff:.2e}', flush=True)
        assert diff < 1e-4

    config = {
        'model_type': 'llama',
        'architectures': ['LlamaForCausalLM'],
        'vocab_size': FULL_VOCAB,
        'hidden_size': c.d_model,
        'intermediate_size': c.d_ff,
        'num_hidden_layers': c.n_layers,
        'num_attention_heads': c.n_heads,
        'num_key_value_heads': c.n_heads,
        'head_dim': c.head_dim,
        'max_position_embeddings': 2 * c.max_len,
        'rope_theta': c.rope_theta,
        'bos_token_id': None,
        'eos_token_id': meta['eos'],
        'pad_token_id': meta['eos'],
        'torch_dtype': 'float32',
        'brown_lm': {'compact_vocab': len(used), 'embedding_dim': c.d_embed, 'trained_tokens_per_step': args.batch * args.seq},
    }
    json.dump(config, open(os.path.join(args.out, 'config.json'), 'w'), indent=2)
    json.dump({'eos_token_id': meta['eos'], 'pad_token_id': meta['eos'], 'do_sample': True, 'temperature': 1.0,
               'top_k': 0, 'top_p': 1.0, 'max_new_tokens': 200},
              open(os.path.join(args.out, 'generation_config.json'), 'w'), indent=2)
    report = {
        'parameters': n_params, 'compact_vocab': len(used), 'train_tokens': n_train, 'steps': args.steps,
        'batch': args.batch, 'seq': args.seq, 'seed': args.seed, 'threads': args.threads,
        'train_minutes': round(train_minutes, 1), 'heldout_perplexity': round(ppl, 2),
        'onnx_bytes': os.path.getsize(path), 'torch': torch.__version__,
    }
    json.dump(report, open(os.path.join(args.out, 'training-report.json'), 'w'), indent=2)
    print(json.dumps(report), flush=True)


if __name__ == '__main__':
    sys.exit(main())
