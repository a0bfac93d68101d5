"""``%config ReCodeMagics.<name> = ...`` mistakes in a real kernel: one clear line each.

Without :class:`recode_magic.notebook.checks.OneLineConfig` IPython prints a wrong value as
``ERROR:root:The 'max_depth' trait of a ReCodeMagics instance expected an int, ...`` and an
unknown name as a ``UserWarning`` pointing into IPython's source (shown once per session).
"""

from __future__ import annotations

import pytest
from kernel_helper import one_line

pytestmark = pytest.mark.kernel

KERNEL_SETUP = "%load_ext recode_magic"
MAGICS = "get_ipython().find_magic('recode').__self__"


def test_a_value_of_the_wrong_type_is_one_line_and_the_setting_stays(kernel):
    res = kernel.execute("%config ReCodeMagics.max_depth = 'deep'")
    assert res.status == "ok"
    assert one_line(res) == ("ReCodeMagics.max_depth expects an int, not the str 'deep'; "
                             "it stays 10")
    assert "ERROR:root" not in res.text
    assert kernel.value(f"{MAGICS}.max_depth") == 10


def test_an_unknown_name_is_one_line_every_time(kernel):
    for _ in range(2):  # a warning would be shown once per place; the line each time
        res = kernel.execute("%config ReCodeMagics.maxdepth = 3")
        assert res.status == "ok"
        assert one_line(res) == ("Config option `maxdepth` not recognized by `ReCodeMagics`. "
                                 "Did you mean `max_depth`?")
        assert "UserWarning" not in res.text


def test_a_good_value_is_set_and_says_nothing(kernel):
    res = kernel.execute("%config ReCodeMagics.max_depth = 4\n%config ReCodeMagics.levers = "
                         "{'samples': 4}")
    assert res.status == "ok" and res.lines == [] and not res.stdout
    assert kernel.value(f"{MAGICS}.max_depth") == 4
    assert kernel.value(f"{MAGICS}.levers") == {"samples": 4}
