"""The demo beside the simulator: a simulated day filed, assessed and worked by simulated officers."""
