"""Connectors that bring student features to the teacher's shape."""
from .feature_connector import FeatureConnector

__all__ = ['FeatureConnector']
