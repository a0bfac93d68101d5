"""What the model is told (rules, examples, feedback) and how its replies are read."""

# the folder's modules (imported one by one where used; none is imported here)
__all__ = ["examples", "feedback", "nearest", "prompts", "reply", "session"]
