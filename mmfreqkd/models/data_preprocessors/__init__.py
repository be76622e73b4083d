"""data preprocessors of mmfreqkd."""
