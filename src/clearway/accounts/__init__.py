"""Money after the decision, pure: what each assessment makes owed and by whom (`owed`), how a payment is
matched to it (`payments`), guarantees and deferred accounts (`guarantees`), appeals (`appeals`), and what
customs tells the tax agency (`tax`). No I/O: the store keeps it, the services move it."""
