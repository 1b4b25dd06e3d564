"""`robot-llm train-policy DATASET... --skill pick|place|push --out DIR`: behaviour cloning of
one skill from recorded demonstrations into a ChunkingMLPPolicy, on the CPU.

OUT gets the policy (config.json + model.safetensors, loadable with `load_policy`), a resumable
training state (`training_state.pt`, written every `--checkpoint-every` steps with the policy),
`loss.csv` and `loss.png` (when matplotlib is installed), and `eval.json`: the held-out
demonstrations' action error, also printed as a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_llm.errors import InputError

STATE_FILE = "training_state.pt"


def add_train_policy_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train-policy",
        help="train a learned skill (pick, place, push) from recorded demonstrations",
    )
    p.add_argument("datasets", nargs="+", metavar="DATASET", help="recorded dataset folder(s)")
    p.add_argument("--skill", required=True, choices=("pick", "place", "push"))
    p.add_argument("--out", required=True, metavar="DIR", help="checkpoint folder")
    p.add_argument("--steps", type=int, default=4000, help="optimizer steps (default 4000)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--chunk-size", type=int, default=10)
    p.add_argument("--n-action-steps", type=int, default=4)
    p.add_argument("--hidden", default="256,256", help="hidden layer widths (default 256,256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--noise",
        type=float,
        default=0.05,
        help="Gaussian noise on the inputs while training, in units of each feature's std "
        "(default 0.05)",
    )
    p.add_argument("--holdout", type=float, default=0.1, help="fraction of demos held out")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N")
    p.add_argument("--resume", action="store_true", help="continue from OUT's training state")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=cmd_train_policy)


def _hidden(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise InputError(f"--hidden {text!r}: give positive widths like 256,256")
    return widths


def cmd_train_policy(args: argparse.Namespace) -> int:
    for name in ("steps", "batch_size", "chunk_size", "n_action_steps", "checkpoint_every"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if args.noise < 0:
        raise InputError("--noise must be at least 0")
    if not 0.0 <= args.holdout < 1.0:
        raise InputError("--holdout must be in [0, 1)")
    result = train(
        args.datasets,
        args.skill,
        Path(args.out),
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        chunk_size=args.chunk_size,
        n_action_steps=args.n_action_steps,
        hidden=_hidden(args.hidden),
        seed=args.seed,
        holdout=args.holdout,
        noise=args.noise,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        threads=args.threads,
        progress=None if args.quiet else _progress_line,
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(format_eval(result))
    return 0


def _progress_line(text: str, final: bool = False) -> None:
    sys.stderr.write("\r" + text.ljust(78) + ("\n" if final else ""))
    sys.stderr.flush()


def _split(n_demos: int, holdout: float, seed: int) -> np.ndarray:
    """Demo numbers held out for evaluation (at least one when there are two or more)."""
    if n_demos < 2 or holdout <= 0:
        return np.zeros(0, dtype=int)
    k = max(1, round(n_demos * holdout))
    return np.sort(np.random.default_rng(seed).permutation(n_demos)[:k])


def train(
    datasets: list[str],
    skill: str,
    out: Path,
    *,
    steps: int = 4000,
    batch_size: int = 256,
    lr: float = 1e-3,
    chunk_size: int = 10,
    n_action_steps: int = 4,
    hidden: tuple[int, ...] = (256, 256),
    seed: int = 0,
    holdout: float = 0.1,
    noise: float = 0.05,
    checkpoint_every: int = 1000,
    resume: bool = False,
    threads: int = 1,
    progress: Any = None,
) -> dict[str, Any]:
    """Train and save; the evaluation summary (also written to OUT/eval.json)."""
    import torch

    from robot_llm.policies.learned.checkpoint import load_policy, save_policy
    from robot_llm.policies.learned.chunking_mlp import ChunkingMLPPolicy
    from robot_llm.policies.learned.config import PolicyConfig, PolicyFeature
    from robot_llm.policies.learned.features import ACTION_SIZE, ENV_SIZE, STATE_SIZE
    from robot_llm.policies.learned.samples import feature_stats, load_samples

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    state_path = out / STATE_FILE
    if resume and not state_path.is_file():
        raise InputError(f"{out}: no {STATE_FILE} to resume from")
    if not resume and state_path.is_file():
        raise InputError(f"{out}: holds a training run; continue it with --resume or use a new DIR")
    samples = load_samples(list(datasets), skill, chunk_size)
    held = _split(len(samples.demos), holdout, seed)
    is_held = np.isin(samples.episode, held)
    train_set, eval_set = samples.select(~is_held), samples.select(is_held)
    stats = {
        "observation.state": feature_stats(train_set.state),
        "observation.environment_state": feature_stats(train_set.env),
        "action": feature_stats(train_set.action[~train_set.is_pad]),
    }
    config = PolicyConfig(
        input_features={
            "observation.state": PolicyFeature("STATE", (STATE_SIZE,)),
            "observation.environment_state": PolicyFeature("ENV", (ENV_SIZE,)),
        },
        output_features={"action": PolicyFeature("ACTION", (ACTION_SIZE,))},
        chunk_size=chunk_size,
        n_action_steps=n_action_steps,
        hidden=hidden,
        skill=skill,
        extra={
            "datasets": [str(Path(d)) for d in datasets],
            "demos": len(samples.demos),
            "held_out_demos": len(held),
            "frames": len(samples),
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "noise": noise,
            "features": "robot_llm.policies.learned.features v2",
        },
    )
    policy = ChunkingMLPPolicy(config, stats)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    start, losses = 0, []
    if resume:
        saved = torch.load(state_path, weights_only=False)
        policy = load_policy(out).train()
        optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
        optimizer.load_state_dict(saved["optimizer"])
        start, losses = int(saved["step"]), list(saved["losses"])
        torch.set_rng_state(saved["rng"])
    scheduler_total = max(steps, 1)
    tensors = {
        "observation.state": torch.from_numpy(train_set.state),
        "observation.environment_state": torch.from_numpy(train_set.env),
        "action": torch.from_numpy(train_set.action),
        "action_is_pad": torch.from_numpy(train_set.is_pad),
    }
    input_std = {
        key: torch.from_numpy(stats[key]["std"].astype(np.float32))
        for key in ("observation.state", "observation.environment_state")
    }
    n = len(train_set)
    gen = torch.Generator().manual_seed(seed + start)
    t0 = time.perf_counter()
    policy.train()

    def checkpoint(step: int) -> None:
        save_policy(policy, out)
        tmp = out / f".{STATE_FILE}.tmp"
        torch.save(
            {
                "step": step,
                "optimizer": optimizer.state_dict(),
                "losses": losses,
                "rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(state_path)

    for step in range(start, steps):
        for group in optimizer.param_groups:  # cosine decay to 10 % of the rate
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / scheduler_total)))
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
        batch = {k: v[idx] for k, v in tensors.items()}
        for key, std in input_std.items():  # robustness to the states a policy drifts into
            batch[key] = batch[key] + noise * std * torch.randn(batch[key].shape, generator=gen)
        loss = policy(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if progress is not None and (step % 50 == 0 or step == steps - 1):
            done = step + 1
            rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
            bar = "#" * int(20 * done / steps)
            progress(
                f"train-policy {skill}: [{bar:<20}] {done}/{steps} loss "
                f"{np.mean(losses[-50:]):.4f} ({rate:.0f} steps/s)",
                done == steps,
            )
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            checkpoint(step + 1)
    if start >= steps:
        checkpoint(steps)
    wall = time.perf_counter() - t0
    policy.eval()
    result: dict[str, Any] = {
        "skill": skill,
        "out": str(out),
        "demos": len(samples.demos),
        "train_frames": len(train_set),
        "held_out_demos": len(held),
        "held_out_frames": len(eval_set),
        "steps": steps,
        "train_seconds": round(wall, 1),
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
        "train": evaluate(policy, train_set),
        "held_out": evaluate(policy, eval_set) if len(eval_set) else None,
    }
    (out / "loss.csv").write_text(
        "step,loss\n" + "".join(f"{i + 1},{v:.6f}\n" for i, v in enumerate(losses))
    )
    _plot(losses, out / "loss.png", skill)
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def evaluate(policy: Any, samples: Any) -> dict[str, float]:
    """Mean absolute error of the first predicted action per component, and how often the
    done flag is right."""
    import torch

    with torch.no_grad():
        batch = {
            "observation.state": torch.from_numpy(samples.state),
            "observation.environment_state": torch.from_numpy(samples.env),
        }
        pred = policy.predict_action_chunk(batch)[:, 0].numpy()
    true = samples.action[:, 0]
    err = np.abs(pred - true)
    return {
        "position_mm": float(err[:, :3].mean() * 1000),
        "yaw_deg": float(np.degrees(err[:, 3].mean())),
        "gripper": float(err[:, 4].mean()),
        "done_accuracy": float(((pred[:, 5] > 0.5) == (true[:, 5] > 0.5)).mean()),
    }


def format_eval(result: dict[str, Any]) -> str:
    lines = [
        f"{result['skill']}: {result['demos']} demonstrations, {result['steps']} steps in "
        f"{result['train_seconds']} s, final loss {result['final_loss']:.4f} -> {result['out']}",
        f"{'split':<10}{'frames':>8}{'pos mm':>9}{'yaw deg':>9}{'gripper':>9}{'done acc':>10}",
    ]
    for split, frames in (("train", "train_frames"), ("held_out", "held_out_frames")):
        e = result[split]
        if e is None:
            continue
        lines.append(
            f"{split:<10}{result[frames]:>8}{e['position_mm']:>9.2f}{e['yaw_deg']:>9.2f}"
            f"{e['gripper']:>9.3f}{e['done_accuracy']:>10.3f}"
        )
    return "\n".join(lines)


def _plot(losses: list[float], path: Path, skill: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, len(losses) + 1), losses, linewidth=0.6)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("L1 loss (normalized)")
    ax.set_title(f"train-policy {skill}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
