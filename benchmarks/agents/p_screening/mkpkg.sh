#!/bin/bash
# mkpkg LABEL COMMIT : package tree of COMMIT into /tmp/pkg_LABEL
set -e
rm -rf /tmp/pkg_$1 && mkdir -p /tmp/pkg_$1
cd /work/main && git archive $2 recode_magic | tar -x -C /tmp/pkg_$1
