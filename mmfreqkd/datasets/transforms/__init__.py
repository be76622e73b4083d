"""Paired RGB-infrared transforms."""
