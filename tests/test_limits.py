from __future__ import annotations

import io
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from recode_magic.errors import BlockTimeoutError
from recode_magic.pycode.limits import (
    LIVE_TRUNCATED,
    CapturedOutput,
    block_timeout,
    capture_output,
    short_repr,
)

# Upper bounds only prove the timeout fired (the blocks below never end on their own); they
# are loose on purpose, the machines running these tests are shared.
SLACK = 2.0
needs_alarm = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM here")


def run_block(code: str, seconds: float) -> float:
    """Exec ``code`` under ``block_timeout`` the way the engine does; return the elapsed time."""
    start = time.monotonic()
    with pytest.raises(BlockTimeoutError, match=rf"block ran longer than {seconds:g} s"):
        with block_timeout(seconds):
            exec(compile(code, "<recode>", "exec"), {})
    return time.monotonic() - start


def sentinel_handler(signum: int, frame: object) -> None:
    raise AssertionError("the outer SIGALRM handler must not run during these tests")


@pytest.fixture
def outer_alarm() -> Iterator[None]:
    """An outer SIGALRM handler and a 60 s timer (as pytest-timeout or a user might have)."""
    saved_handler = signal.signal(signal.SIGALRM, sentinel_handler)
    saved_timer = signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *saved_timer)
        signal.signal(signal.SIGALRM, saved_handler)


def assert_outer_alarm_restored() -> None:
    assert signal.getsignal(signal.SIGALRM) is sentinel_handler
    delay, interval = signal.getitimer(signal.ITIMER_REAL)
    assert 50 < delay <= 60 and interval == 0


# -- block_timeout, main thread ----------------------------------------------------------

@needs_alarm
def test_busy_loop_is_stopped(outer_alarm: None) -> None:
    assert run_block("while True:\n    pass\n", 0.2) < 0.2 + SLACK
    assert_outer_alarm_restored()


@needs_alarm
def test_except_exception_cannot_swallow_the_timeout(outer_alarm: None) -> None:
    code = ("while True:\n    try:\n        x = sum(range(100))\n    except Exception:\n"
            "        pass\n")
    assert run_block(code, 0.2) < 0.2 + SLACK
    assert_outer_alarm_restored()


@needs_alarm
def test_blocking_sleep_is_stopped(outer_alarm: None) -> None:
    assert run_block("import time\ntime.sleep(100)\n", 0.2) < 0.2 + SLACK
    assert_outer_alarm_restored()


@needs_alarm
def test_fast_block_leaves_state_as_it_was(outer_alarm: None) -> None:
    with block_timeout(5) as limit:
        x = sum(range(1000))
    assert x == 499500 and limit.mode == "signal"
    assert_outer_alarm_restored()


@needs_alarm
@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt()])
def test_other_errors_pass_through_and_state_is_restored(outer_alarm: None,
                                                         error: BaseException) -> None:
    with pytest.raises(type(error)):
        with block_timeout(5):
            raise error
    assert_outer_alarm_restored()


@needs_alarm
def test_nested_timeouts_inner_fires_outer_resumes(outer_alarm: None) -> None:
    with block_timeout(30):
        assert run_block("while True:\n    pass\n", 0.1) < 0.1 + SLACK
        delay, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 20 < delay <= 30  # the outer limit is running again
    assert_outer_alarm_restored()


def test_none_means_no_limit() -> None:
    with block_timeout(None) as limit:
        time.sleep(0.01)
    assert limit.mode == "off"


@pytest.mark.parametrize("seconds", [0, -1.5])
def test_non_positive_timeout_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        block_timeout(seconds)


# -- block_timeout, fallback off the main thread -----------------------------------------

def run_in_thread(code: str, seconds: float) -> dict[str, object]:
    result: dict[str, object] = {}

    def target() -> None:
        before = sys.gettrace()
        start = time.monotonic()
        try:
            with block_timeout(seconds) as limit:
                result["mode"] = limit.mode
                exec(compile(code, "<recode>", "exec"), {})
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            result["error"] = exc
        result["elapsed"] = time.monotonic() - start
        result["trace_restored"] = sys.gettrace() is before

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds + 3 * SLACK)
    assert not worker.is_alive(), "the fallback did not stop the loop"
    return result


def test_fallback_stops_a_busy_loop_off_the_main_thread() -> None:
    result = run_in_thread("while True:\n    pass\n", 0.2)
    assert result["mode"] == "trace"
    assert isinstance(result["error"], BlockTimeoutError)
    assert str(result["error"]) == "block ran longer than 0.2 s (--timeout)"
    assert result["elapsed"] < 0.2 + SLACK  # type: ignore[operator]
    assert result["trace_restored"]


def test_fallback_cannot_be_swallowed_by_except_exception() -> None:
    code = "while True:\n    try:\n        x = [i for i in range(10)]\n    except Exception:\n" \
           "        pass\n"
    result = run_in_thread(code, 0.2)
    assert isinstance(result["error"], BlockTimeoutError)


def test_fallback_fast_block_succeeds() -> None:
    result = run_in_thread("x = sum(range(1000))\n", 5)
    assert "error" not in result and result["trace_restored"]


# -- capture_output -----------------------------------------------------------------------

def use_fake_stdout(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Point ``sys.stdout`` at a fresh buffer (in the test body: pytest resets it after setup)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def test_capture_tees_to_the_original_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with capture_output() as out:
        print("hello", 42)
        sys.stdout.write("more\n")
    assert isinstance(out, CapturedOutput)
    assert out.text == "hello 42\nmore\n" and not out.truncated
    assert fake_stdout.getvalue() == "hello 42\nmore\n"
    assert sys.stdout is fake_stdout


def test_capture_truncates_with_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with capture_output(cap=10) as out:
        sys.stdout.write("0123456")
        sys.stdout.write("789abcdefghijklmno")
    assert out.text == "0123456789\n… [output truncated: 15 more characters]"
    assert out.total == 25 and out.truncated
    assert fake_stdout.getvalue() == "0123456789abcdefghijklmno"  # live output is not cut


@pytest.mark.parametrize("error", [ValueError("boom"), KeyboardInterrupt(), SystemExit(1)])
def test_capture_restores_stdout_on_any_exception(monkeypatch: pytest.MonkeyPatch,
                                                  error: BaseException) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with pytest.raises(type(error)):
        with capture_output() as out:
            print("before")
            raise error
    assert sys.stdout is fake_stdout
    assert out.text == "before\n"


def test_capture_restores_stdout_even_if_the_block_replaced_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with capture_output():
        sys.stdout = io.StringIO()
    assert sys.stdout is fake_stdout


class Terminal(io.StringIO):
    encoding = "latin-1"  # type: ignore[assignment]
    session = "kernel-session"

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return 7


def test_tee_forwards_stream_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    with capture_output():
        tee = sys.stdout
        assert tee is not term
        assert tee.isatty() is True
        assert tee.fileno() == 7
        assert tee.encoding == "latin-1"
        assert tee.session == "kernel-session"  # type: ignore[attr-defined]
        assert tee.writable() and not tee.readable()
        tee.flush()
        tee.writelines(["a", "b"])
        tee.close()  # must not close the kernel's stream
        assert not tee.closed
    assert term.getvalue() == "ab" and not term.closed


def test_tee_fileno_raises_like_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_stdout(monkeypatch)
    with capture_output():
        with pytest.raises(io.UnsupportedOperation):
            sys.stdout.fileno()
        assert sys.stdout.isatty() is False


def test_tee_rejects_bytes_like_the_original(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_stdout(monkeypatch)
    with capture_output() as out:
        with pytest.raises(TypeError):
            sys.stdout.write(b"raw")  # type: ignore[arg-type]
    assert out.text == ""


def test_nested_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with capture_output() as outer:
        print("a")
        with capture_output() as inner:
            print("b")
        print("c")
    assert (outer.text, inner.text, fake_stdout.getvalue()) == ("a\nb\nc\n", "b\n", "a\nb\nc\n")


def test_live_cap_cuts_the_live_stream_once_but_not_the_collected_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with capture_output(cap=100, live_cap=10) as out:
        sys.stdout.write("0123456")
        sys.stdout.write("789abc")
        sys.stdout.write("more")
    assert fake_stdout.getvalue() == "0123456789" + LIVE_TRUNCATED
    assert out.text == "0123456789abcmore"


def test_negative_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="cap must be >= 0"):
        capture_output(cap=-1)


@needs_alarm
def test_timeout_while_printing_restores_stdout(monkeypatch: pytest.MonkeyPatch,
                                                outer_alarm: None) -> None:
    fake_stdout = use_fake_stdout(monkeypatch)
    with pytest.raises(BlockTimeoutError):
        with capture_output(cap=100) as out, block_timeout(0.2):
            exec("while True:\n    print('spam')\n", {})
    assert sys.stdout is fake_stdout
    assert out.truncated and out.text.startswith("spam\nspam\n")
    assert_outer_alarm_restored()


# -- short_repr ---------------------------------------------------------------------------

class Counted:
    reprs = 0

    def __repr__(self) -> str:
        Counted.reprs += 1
        return "C"


class Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_short_repr_does_not_repr_every_item() -> None:
    Counted.reprs = 0
    text = short_repr([Counted() for _ in range(100_000)], limit=200)
    assert Counted.reprs <= 30
    assert text.endswith("…]") and len(text) <= 200


@pytest.mark.parametrize("value", [
    "x" * 100_000, list(range(100_000)), {i: str(i) for i in range(10_000)},
    set(range(10_000)), tuple(range(10_000)), b"y" * 100_000, 10 ** 5000, [[[[[[1]]]]]],
    Broken(), 3.5, None, "short",
], ids=lambda value: type(value).__name__)
@pytest.mark.parametrize("limit", [1, 10, 200])
def test_short_repr_respects_the_limit(value: object, limit: int) -> None:
    text = short_repr(value, limit=limit)
    assert 1 <= len(text) <= limit


def test_short_repr_marks_truncation_and_keeps_short_values() -> None:
    assert short_repr("abc") == "'abc'"
    assert short_repr([1, 2, 3]) == "[1, 2, 3]"
    assert "…" in short_repr("x" * 1000)
    assert "…" in short_repr(list(range(1000)))
    assert short_repr(Broken()).startswith("<Broken ")


def test_short_repr_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        short_repr(1, limit=0)
