"""Use cases that join the core to the store, called by the CLI, the API and the workers: they start no
thread (long-running work is in `clearway.workers`) and know no caller (`clearway.auth` says who calls)."""
