"""Distributed runners: the same pipeline over history, locally or on Spark, partition by partition."""
