"""nlp/: language, entities, concepts, passages and vectors for crawled documents."""
