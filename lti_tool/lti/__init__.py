"""The LTI 1.3 adapter: pylti1p3 behind database-backed configuration and storage."""
