"""Analysis of RGB-infrared feature gaps (library code behind tools/analysis)."""
