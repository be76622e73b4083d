"""heads of mmfreqkd."""
