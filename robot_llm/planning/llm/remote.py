"""The `openai` planner backend: any OpenAI-compatible chat-completions endpoint.

    planner = get_planner("openai", base_url="http://127.0.0.1:8080/v1", model="smollm2")

vLLM, the llama.cpp server, Ollama and hosted services speak this API. The request asks for the
scene's answer schema as `response_format={"type": "json_schema", ...}`, which such servers
enforce while decoding; the answer is checked all the same (`LanguagePlanner`). Options (keyword
arguments, else environment variables): base_url (ROBOT_LLM_BASE_URL, OPENAI_BASE_URL; default
http://127.0.0.1:8000/v1), model (ROBOT_LLM_API_MODEL), api_key (ROBOT_LLM_API_KEY,
OPENAI_API_KEY; sent as a bearer token when set), timeout seconds per request
(ROBOT_LLM_TIMEOUT, 30), retries after a failed request (ROBOT_LLM_RETRIES, 2), max_tokens
(512), schema_format (ROBOT_LLM_SCHEMA_FORMAT): `json_schema` (the OpenAI form, default),
`json_object` (`{"type": "json_object", "schema": ...}`, as llama-cpp-python's server takes it)
or `none`. Connection errors, timeouts, 429 and 5xx answers are retried with exponential
backoff; other errors are not. The standard library's urllib does the HTTP.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
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
from robot_llm.planning.llm.grounding import MAX_STEPS

DEFAULT_BASE_URL: Final = "http://127.0.0.1:8000/v1"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_RETRIES: Final = 2
BACKOFF: Final = 0.5  # seconds before the first retry; doubles each time
RETRY_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})
SCHEMA_FORMATS: Final = ("json_schema", "json_object", "none")


class OpenAIPlanner(LanguagePlanner):
    """A chat-completions endpoint, asked for the scene's answer schema."""

    name = "openai"

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        model: str = "default",
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        max_tokens: int = 512,
        max_steps: int = MAX_STEPS,
        vision: bool = False,
        backoff: float = BACKOFF,
        schema_format: str = "json_schema",
    ) -> None:
        super().__init__(max_steps)
        if not base_url.startswith(("http://", "https://")):
            raise PlannerError(f"base_url {base_url!r} must start with http:// or https://")
        if schema_format not in SCHEMA_FORMATS:
            raise PlannerError(
                f"schema_format {schema_format!r} is not one of {', '.join(SCHEMA_FORMATS)}"
            )
        self.schema_format = schema_format
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.max_tokens = max_tokens
        self.vision = vision
        self.backoff = backoff

    @classmethod
    def from_options(cls, **options: Any) -> OpenAIPlanner:
        base = option(
            options, "base_url", ("ROBOT_LLM_BASE_URL", "OPENAI_BASE_URL"), DEFAULT_BASE_URL
        )
        model = option(options, "model", "ROBOT_LLM_API_MODEL", "default")
        key = option(options, "api_key", ("ROBOT_LLM_API_KEY", "OPENAI_API_KEY"))
        timeout = option(options, "timeout", "ROBOT_LLM_TIMEOUT", DEFAULT_TIMEOUT)
        retries = option(options, "retries", "ROBOT_LLM_RETRIES", DEFAULT_RETRIES)
        tokens = option(options, "max_tokens", "ROBOT_LLM_MAX_TOKENS", 512)
        steps = option(options, "max_steps", "ROBOT_LLM_MAX_STEPS", MAX_STEPS)
        vision = str(option(options, "vision", "ROBOT_LLM_VISION", "0")).lower()
        backoff = option(options, "backoff", "ROBOT_LLM_BACKOFF", BACKOFF)
        schema_format = option(options, "schema_format", "ROBOT_LLM_SCHEMA_FORMAT", "json_schema")
        no_more(options, cls.name)
        return cls(
            str(base),
            str(model),
            str(key) if key else None,
            number(timeout, "timeout"),
            number(retries, "retries", int),
            number(tokens, "max_tokens", int),
            number(steps, "max_steps", int),
            vision in ("1", "true", "yes"),
            number(backoff, "backoff"),
            str(schema_format),
        )

    def reads_images(self) -> bool:
        return self.vision

    def request_body(self, chat: list[prompt.Message], schema: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [self._message(m) for m in chat],
            "temperature": 0.0,
            "max_tokens": self.max_tokens,
        }
        if self.schema_format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "plan_result", "strict": True, "schema": schema},
            }
        elif self.schema_format == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        return body

    def _message(self, m: prompt.Message) -> prompt.Message:
        if isinstance(m["content"], str):
            return m
        parts = []
        for p in m["content"]:
            if p.get("type") == "image":
                parts.append({"type": "image_url", "image_url": {"url": self._image_url()}})
            else:
                parts.append(p)
        return {"role": m["role"], "content": parts}

    def _image_url(self) -> str:
        from PIL import Image

        assert self.frame is not None
        buf = io.BytesIO()
        Image.fromarray(self.frame.rgb).convert("RGB").save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    def complete(self, chat: list[prompt.Message], schema: dict[str, Any]) -> str:
        data = json.dumps(self.request_body(chat, schema)).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return content(json.loads(resp.read()))
            except urllib.error.HTTPError as err:
                body = _body(err)
                problem = f"HTTP {err.code} from {self.url}: {one_line(body, 120)}"
                if "response_format" in body and self.schema_format == "json_schema":
                    problem += " (a server without json_schema may take schema_format=json_object)"
                    raise BackendError(problem) from None
                if err.code not in RETRY_STATUS:
                    raise BackendError(problem) from None
            except TimeoutError:
                problem = f"{self.url} did not answer within {self.timeout:g} s"
            except urllib.error.URLError as err:
                if isinstance(err.reason, TimeoutError):
                    problem = f"{self.url} did not answer within {self.timeout:g} s"
                else:
                    problem = f"cannot reach {self.url}: {one_line(err.reason, 120)}"
            except (OSError, ValueError) as err:  # reset connections, bad JSON bodies
                problem = f"bad answer from {self.url}: {one_line(err, 120)}"
            self.stats["request_failures"] += 1
        tries = self.retries + 1
        raise BackendError(f"{problem} ({tries} attempt{'s' if tries > 1 else ''})")


def _body(err: urllib.error.HTTPError) -> str:
    try:
        return err.read().decode("utf-8", "replace") or str(err.reason)
    except OSError:
        return str(err.reason)


def content(reply: Any) -> str:
    """The text of the first choice of a chat-completions reply."""
    try:
        text = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError("the endpoint's reply has no choices[0].message.content") from None
    if not isinstance(text, str):
        raise BackendError("the endpoint's reply content is not text")
    return text
