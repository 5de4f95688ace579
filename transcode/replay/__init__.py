"""Multi-angle replays built from angle clips: mosaics, cut sequences and freeze-frame sweeps."""
