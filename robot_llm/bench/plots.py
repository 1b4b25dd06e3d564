"""Report plots (matplotlib, Agg backend): success per family with 95% Wilson intervals, the wall
time per episode split into its parts, and the CALVIN chain curve. Needs the `report` extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TIME_PARTS = (
    ("setup_s_mean", "world setup"),
    ("perception_s_mean", "perception"),
    ("planner_s_mean", "planner"),
    ("executor_s_mean", "executor (skills, physics)"),
)


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def success_plot(families: list[dict[str, Any]], path: Path, title: str) -> Path:
    plt = _pyplot()
    names = [f"{f['family']}\nn={f['episodes']}" for f in families]
    rates = [f["success_rate"] for f in families]
    low = [max(0.0, r - f["ci95"][0]) for r, f in zip(rates, families, strict=True)]
    high = [max(0.0, f["ci95"][1] - r) for r, f in zip(rates, families, strict=True)]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.8))
    ax.bar(names, rates, color="#4c72b0", yerr=[low, high], capsize=4)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (95% Wilson CI)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def time_plot(families: list[dict[str, Any]], path: Path, title: str) -> Path:
    plt = _pyplot()
    names = [f["family"] for f in families]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.8))
    bottom = [0.0] * len(names)
    for key, label in TIME_PARTS:
        values = [float(f.get(key, 0.0)) for f in families]
        ax.bar(names, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("wall seconds per episode (mean)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def chain_plot(chain: dict[str, Any], path: Path, title: str) -> Path:
    plt = _pyplot()
    ks = sorted(chain["success_at"], key=int)
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.bar(ks, [chain["success_at"][k] for k in ks], color="#55a868")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("instructions completed in a row (at least)")
    ax.set_ylabel("fraction of chains")
    ax.set_title(f"{title}: avg len {chain['avg_len']:.2f} (n={chain['episodes']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
