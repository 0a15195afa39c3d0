"""Long-running work beside the use cases: the API's writer and assessor threads, the webhook deliverer,
the clock, the runtime that starts and stops them, and the health probes that watch them."""
