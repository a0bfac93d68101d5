"""Static analysis and guarded execution of model code: blocks, placeholders, policy, limits."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["astlock", "blocks", "calltally", "code", "limits", "namespace", "nesting", "policy",
           "reprs", "scan", "source", "wrap"]
