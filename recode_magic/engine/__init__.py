"""The ReCode engine: settings, the stack machine, the expander, repairs, run state, budgets."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["budget", "entry", "expander", "guards", "machine", "part", "prefetch", "recode",
           "repair", "resultcheck", "runstate", "sampling", "settings", "spend"]
