"""The console's access rules: bind addresses, tokens, and the Host and Origin checks."""

from __future__ import annotations

import pytest

from robot_llm.console.security import Access, ConsoleInputError, is_loopback, parse_bind


def test_parse_bind_reads_host_and_port() -> None:
    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    assert parse_bind("0.0.0.0:80") == ("0.0.0.0", 80)


@pytest.mark.parametrize("bad", ["8080", "localhost", ":8080", "host:port", "h:0", "h:70000"])
def test_a_bad_bind_is_one_line_naming_it(bad: str) -> None:
    with pytest.raises(ConsoleInputError, match=r"--bind .*HOST:PORT") as err:
        parse_bind(bad)
    assert bad in str(err.value) and "\n" not in str(err.value)


def test_loopback_needs_no_token_but_any_other_bind_gets_one() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert Access.for_bind("127.0.0.1:8080", None).token is None
    lan = Access.for_bind("0.0.0.0:8080", None)
    assert lan.token is not None and len(lan.token) >= 16
    assert Access.for_bind("0.0.0.0:8080", None).token != lan.token  # generated, not fixed
    given = "s3cret-token-of-the-operator"
    assert Access.for_bind("192.168.1.4:8080", given).token == given
    assert Access.for_bind("127.0.0.1:8080", given).token == given  # given: required anyway


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ConsoleInputError, match="at least 16 characters"):
        Access.for_bind("0.0.0.0:8080", "short")


def test_token_checks_compare_the_whole_token() -> None:
    access = Access("0.0.0.0", 8080, "abcdefghijklmnopqrstuvwx")
    assert access.token_ok("abcdefghijklmnopqrstuvwx")
    assert not access.token_ok("abcdefghijklmnopqrstuvw")
    assert not access.token_ok(None) and not access.token_ok("")
    assert access.bearer_ok("Bearer abcdefghijklmnopqrstuvwx")
    assert access.bearer_ok("bearer  abcdefghijklmnopqrstuvwx")
    assert not access.bearer_ok("Basic abcdefghijklmnopqrstuvwx")
    assert not access.bearer_ok(None)
    assert Access("127.0.0.1", 8080, None).bearer_ok(None)


def test_host_check_keeps_other_names_out_of_a_loopback_console() -> None:
    access = Access("127.0.0.1", 8080, None)
    assert access.host_ok("127.0.0.1:8080") and access.host_ok("localhost:8080")
    assert access.host_ok("[::1]:8080")
    assert not access.host_ok("evil.example:8080")  # a rebinding DNS name
    assert not access.host_ok(None) and not access.host_ok("")
    lan = Access("192.168.1.4", 8080, "abcdefghijklmnopqrstuvwx")
    assert lan.host_ok("192.168.1.4:8080") and not lan.host_ok("10.0.0.1:8080")


def test_origin_must_be_the_console_itself() -> None:
    access = Access("127.0.0.1", 8080, None)
    assert access.origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert access.origin_ok(None, "127.0.0.1:8080")  # a script, not a page
    assert not access.origin_ok("http://evil.example", "127.0.0.1:8080")
    assert not access.origin_ok("http://127.0.0.1:9999", "127.0.0.1:8080")
    assert not access.origin_ok("null", "127.0.0.1:8080")  # a file:// page or a sandbox


def test_the_command_line_refuses_bad_binds_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    from robot_llm.cli import main

    scene = "sim_assets/scenes/blocks_and_bowls.yaml"
    assert main(["console", "--scene", scene, "--bind", "8080"]) == 2
    assert "--bind '8080': expected HOST:PORT" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["console", "--scene", scene, "--bind", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--bind 127.0.0.1:{port}: Address already in use")
    assert "\n" not in err
    assert main(["console", "--scene", scene, "--bind", "0.0.0.0:8080", "--token", "x"]) == 2
    assert "--token: at least 16 characters" in capsys.readouterr().err
