"""The CLI's command groups, a module each; `clearway.cli` registers them."""
