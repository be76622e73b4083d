"""backbones of mmfreqkd."""
