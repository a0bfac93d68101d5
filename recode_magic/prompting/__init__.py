"""What the model is told (rules, examples, feedback) and how its replies are read."""
