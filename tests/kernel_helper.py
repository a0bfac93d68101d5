"""A real ipykernel started through jupyter_client, for tests that need the truth."""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import start_new_kernel

__all__ = ["Kernel", "Result", "one_line", "usage_error"]


@dataclass
class Result:
    """What one execute request produced."""

    status: str = ""
    stdout: str = ""
    stderr: str = ""
    data: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    next_input: str | None = None
    comm_bytes: int = 0  # size of the widget (comm) messages this request caused

    @property
    def widget_views(self) -> int:
        """How many widget views were displayed."""
        return sum("application/vnd.jupyter.widget-view+json" in d for d in self.data)

    @property
    def lines(self) -> list[str]:
        """The non-blank stderr lines."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    @property
    def text(self) -> str:
        return self.stdout + self.stderr + "".join(
            d.get("text/plain", "") for d in self.data)


class Kernel:
    """Start a kernel, run code in it, read every output message; stop it."""

    def __init__(self, cwd: str | None = None):
        self.cwd = cwd
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=cwd)

    def execute(self, code: str, timeout: float = 60, interrupt_after: float | None = None,
                stdin: list[str] | None = None) -> Result:
        msg_id = self.kc.execute(code, allow_stdin=stdin is not None)
        res = Result()
        deadline = time.monotonic() + timeout
        interrupted = interrupt_after is None
        start = time.monotonic()
        answers = list(stdin or [])
        while True:
            if not interrupted and time.monotonic() - start >= interrupt_after:
                self.km.interrupt_kernel()
                interrupted = True
            if stdin is not None:
                try:
                    req = self.kc.stdin_channel.get_msg(timeout=0.01)
                    self.kc.input(answers.pop(0) if answers else "")
                    res.stdout += req["content"].get("prompt", "")
                except queue.Empty:
                    pass
            try:
                msg = self.kc.iopub_channel.get_msg(timeout=0.05)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"kernel did not finish in {timeout} s: "
                                       f"{code[:80]!r}") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    res.stdout += content["text"]
                else:
                    res.stderr += content["text"]
            elif kind in ("display_data", "execute_result", "update_display_data"):
                res.data.append(content["data"])
            elif kind == "error":
                res.error = content
            elif kind in ("comm_open", "comm_msg"):
                res.comm_bytes += len(json.dumps(content, default=str))
            elif kind == "status" and content["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:  # e.g. a 2nd kernel_info_reply
            reply = self.kc.get_shell_msg(timeout=timeout)  # (wait_for_ready asks again when
            # the kernel is slow to answer, and the late reply waits on the shell channel)
        res.status = reply["content"]["status"]
        for payload in reply["content"].get("payload", []):
            if payload.get("source") == "set_next_input":
                res.next_input = payload.get("text")
        return res

    def value(self, expr: str) -> Any:
        import ast
        res = self.execute(f"print(repr({expr}))")
        if res.error:
            raise RuntimeError(res.error["evalue"])
        return ast.literal_eval(res.stdout.strip())

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def one_line(res: Result) -> str:
    """The single line a failure shows: no traceback, nothing else on stderr."""
    assert res.error is None or res.error["ename"] == "UsageError", res.error
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr[:3000]
    assert len(res.lines) == 1, res.stderr[:3000]
    return res.lines[0]


def usage_error(res: Result) -> str:
    """The one-line ``UsageError: ...`` IPython printed (it sends no traceback for these)."""
    line = one_line(res)
    assert res.status == "error" and line.startswith("UsageError: "), line
    return line


