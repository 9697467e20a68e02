"""Certified product models (CCC), the standards' limits as data, compatible vehicle–battery pairs (标配)."""
