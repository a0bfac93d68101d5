"""``python -m recode_magic.llms.fetch [NAME ...]``: fetch and verify local weights ahead of use.

For images and CI (``binder/postBuild``, ``.ci/setup``): the first ``%%recode`` on the
embedded model then starts at once. Prints each model file's path; exit status 1 with the
one-line error otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import WeightsError
from .local import DEFAULT_LOCAL
from .weights import MODELS, ensure, spec_for

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch the named models (default: the default embedded model); print their paths."""
    ap = argparse.ArgumentParser(prog="python -m recode_magic.llms.fetch",
                                 description="Fetch, assemble and verify local model weights.")
    ap.add_argument("names", nargs="*", help=f"model names (of {list(MODELS)})")
    ap.add_argument("--dir", default=None, help="cache folder (default: $RECODE_MAGIC_MODELS, "
                    "else the user cache)")
    args = ap.parse_args(argv)
    try:
        for name in args.names or [DEFAULT_LOCAL]:
            print(ensure(spec_for(name), args.dir))
    except (WeightsError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
