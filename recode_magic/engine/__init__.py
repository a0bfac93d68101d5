"""The ReCode engine: settings, the stack machine, the expander, repairs, run state, budgets."""
