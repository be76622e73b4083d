"""losses of mmfreqkd."""
