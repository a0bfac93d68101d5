"""The run as data: the tree, its JSON, plan.v1, exports, statistics, alternatives."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["export", "node", "pairs", "planv1", "run", "stats", "status", "tree"]
