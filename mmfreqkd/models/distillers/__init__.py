"""distillers of mmfreqkd."""
