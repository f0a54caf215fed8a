"""index/: store documents in Qdrant, rank technologies against needs, evaluate the ranking."""
