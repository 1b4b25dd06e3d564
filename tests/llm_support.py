"""An OpenAI-compatible chat-completions server on loopback, for the `openai` backend's tests.

`ChatServer(respond)` serves POST /v1/chat/completions on 127.0.0.1 (a free port) from a
thread; `respond(body)` returns the answer text, or (status, text) for an HTTP error. It records
every request (body and headers). `model_responder(planner)` answers with a local
`TransformersPlanner`, decoding constrained by the request's json_schema: a real model behind a
real socket, as vLLM or the llama.cpp server would serve it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], "str | tuple[int, str]"]

# What an executor hands a replan: a pick that worked, then a place that failed.
RESULTS = [
    {"index": 0, "skill": "pick", "subgoal": {"skill": "pick", "object": "green_block"},
     "success": True, "attempts": 1, "reason": ""},
    {"index": 1, "skill": "place",
     "subgoal": {"skill": "place", "object": "green_block", "in": "blue_bowl"},
     "success": False, "attempts": 2, "reason": "the block fell beside the bowl"},
]  # fmt: skip


class ChatServer:
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[tuple[dict[str, Any], dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(size))
                server.requests.append((body, dict(self.headers)))
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                answer = server.respond(body)
                if isinstance(answer, tuple):
                    self._send(answer[0], {"error": {"message": answer[1]}})
                    return
                message = {"role": "assistant", "content": answer}
                self._send(200, {"object": "chat.completion", "choices": [{"message": message}]})

            def _send(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def model_responder(planner: Any) -> Responder:
    """Answer chat requests with a local TransformersPlanner, constrained by their schema."""

    def respond(body: dict[str, Any]) -> str | tuple[int, str]:
        fmt = body.get("response_format") or {}
        if fmt.get("type") != "json_schema":
            return 400, "this server needs response_format json_schema"
        return str(planner.complete(body["messages"], fmt["json_schema"]["schema"]))

    return respond


def build_tiny_vlm(folder: Any) -> None:
    """Save a randomly initialized Llava (a 1-layer CLIP vision tower, a 1-layer Llama) with its
    processor and a small byte-level BPE tokenizer trained here: a VLM that loads offline."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<image>", "<pad>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = ['{"type":"plan","subgoals":[{"skill":"pick","object":"red_block"}]}'] * 4
    bpe.train_from_iterator([*corpus, "put the red block in the green bowl"], trainer)
    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{% if m['content'] is string %}"
        "{{ m['content'] }}{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}"
        "<image>{% else %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|end|>", pad_token="<pad>"
    )
    tokenizer.chat_template = template
    pixels = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=pixels,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=template,
        image_token="<image>",
        num_additional_image_tokens=1,  # CLIP's class token
    )
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1}
    vision = CLIPVisionConfig(**small, num_attention_heads=2, image_size=32, patch_size=8)
    text = LlamaConfig(
        **small,
        vocab_size=len(tokenizer),
        num_attention_heads=2,
        num_key_value_heads=2,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
