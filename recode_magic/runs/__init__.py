"""The run as data: the tree, its JSON, plan.v1, exports, statistics, alternatives."""
