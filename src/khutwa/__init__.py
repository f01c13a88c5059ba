"""Khutwa: work-from-home licences, official documents and Tamkeen support."""
