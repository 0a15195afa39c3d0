"""What the running service tells its operators: structured logs with request context (`logs`) and
OpenTelemetry traces (`traces`). Used by the API, the services and the CLI; depends on nothing of theirs."""
