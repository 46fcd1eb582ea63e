"""Rules: the safe expression language for conditions and DMN-style decision tables.

Pure code: no models, no database. Case type definitions (`casework.cases.definitions`)
compile their conditions and load their decision tables through this package; the case
engine evaluates them.
"""
