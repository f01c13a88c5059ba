"""Khutwa's trust chain for official documents, in pure Python (no Django import).

Anyone who verifies a Khutwa document — Tamkeen's systems, a bank, a customer offline — can
use this package with nothing but the platform's public keys (its JWKS). See
docs/document-format.md.
"""
