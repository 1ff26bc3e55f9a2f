"""The platform's stacks and the Stage that composes them per environment."""
