"""Serve a GGUF model on loopback with xllamacpp's llama.cpp server (prebuilt wheel, no build).

    python benchmarks/agents/serve_xllamacpp.py MODEL.gguf [--port 8080] [--ctx 8192]

``MODEL`` may also be a name of ``recode_magic.llms.weights`` (``qwen2.5-coder-1.5b``...):
its verified cached file is used (fetched first if needed). The OpenAI-compatible routes
(``/v1/chat/completions``, ``/tokenize``...) answer at ``http://127.0.0.1:PORT/v1`` until
the process is stopped (Ctrl-C or SIGTERM). An evaluation tool, like serve_model.sh.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="path to a .gguf file, or a recode_magic model name")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--ctx", type=int, default=8192, help="context per slot")
    ap.add_argument("--parallel", type=int, default=1, help="slots (concurrent requests)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--alias", default=None, help="model name the server reports")
    args = ap.parse_args()

    from recode_magic.llms.local import load_server, model_path

    path = model_path(args.model)
    server = load_server(path, n_ctx=args.ctx * args.parallel, threads=args.threads,
                         parallel=args.parallel, port=args.port,
                         alias=args.alias or Path(path).stem, verbosity=2)
    print(f"serving {path} at {server.listening_address}/v1 "
          f"({args.parallel} slot(s), ctx {args.ctx}, {args.threads} threads)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
