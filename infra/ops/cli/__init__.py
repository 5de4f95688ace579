"""The ``vantage`` command for operators."""
