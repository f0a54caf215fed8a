"""spiders/: Scrapy spiders that fetch and parse sources into `domain.models.Document` items."""
