"""`vantage bench`: every figure a ratio against the plain ffmpeg command, the naive approach or
the framework's floor, measured side by side in one run on the same input."""
