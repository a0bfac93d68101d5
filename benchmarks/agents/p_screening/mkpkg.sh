#!/bin/bash
# mkpkg LABEL COMMIT : package tree of COMMIT into ${TMPDIR:-/tmp}/pkg_LABEL
set -e
out="${TMPDIR:-/tmp}/pkg_$1"
rm -rf "$out" && mkdir -p "$out"
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" && git archive "$2" recode_magic | tar -x -C "$out"
