"""Open Badges 3.0 credentials for competencies: building, signing (VC-JWT) and verifying them.

A domain package: no Flask. The tool's application layer chooses the key and stores the rows.
"""
