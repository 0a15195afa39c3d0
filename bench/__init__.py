"""clearway's benchmark harness: prints figures, asserts nothing about time."""
