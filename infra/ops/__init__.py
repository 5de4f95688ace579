"""The operator's tools, the top floor: the `vantage` CLI, the benchmarks, the local stack, the
feed simulator and `vantage doctor`. They may import every other package; nothing imports them."""
