"""End-to-end tests: the real demo, the production server and a real browser."""
