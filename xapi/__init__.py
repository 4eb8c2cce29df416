"""xAPI statements and their delivery to learning record stores. No Flask here.

Statement building, the durable outbox and the delivery worker arrive with the xAPI work;
this package holds its place in the engine's shape.
"""
