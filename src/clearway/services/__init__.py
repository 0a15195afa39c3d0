"""Service layer: use cases that join the core to the store, called by the CLI and the API."""
