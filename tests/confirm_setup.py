"""The notebook set-up shared by the --confirm tests (real kernel and JupyterLab)."""

SETUP = '''\
%load_ext recode_magic
%config ReCodeMagics.save_dir = ""
from recode_magic import ScriptedLLM

calls = []

def record(n):
    """Log n and return ten times n."""
    calls.append(n)
    return n * 10

X = lambda code: f"<think>plan</think><execute>{code}</execute>"
llm = ScriptedLLM({
    "solve": X("v = make_value(n=3)\\nout = v * 2"),
    "make_value": X("v = record(n) + 1"),
})
'''

#: The --confirm cell those tests run (solve, then make_value).
RECODE = "%%recode --llm llm --confirm -o out\nMake a value from 3 and double it."
