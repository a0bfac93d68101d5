"""Static analysis and guarded execution of model code: blocks, placeholders, policy, limits."""
