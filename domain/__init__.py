"""domain/: the bottom layer. The domain model (documents, passages, matches, rejects) and the settings.

Every other package may import this one; it imports none of them.
"""
